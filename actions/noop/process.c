/* noop/process - the "noop" test action: prints its input unchanged.
 * CROWD_INPUT holds the input as JSON text, or, when it is over 96 KB,
 * the file named by CROWD_INPUT_FILE does (the node's env_set_big);
 * printing it back makes the unit's output the same JSON value. Written
 * in C so a unit costs one exec and no interpreter start (tests and
 * benchmarks). No options.
 * Exit 0 on success; 1 (message on stderr) when neither CROWD_INPUT nor
 * CROWD_INPUT_FILE is set, the file cannot be read, or stdout cannot be
 * written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy the file `path` to stdout. 0, or -1 with a message on stderr. */
static int print_file(const char *path)
{
	char buf[65536];
	FILE *in = fopen(path, "rb");
	size_t n;
	int ret = 0;

	if (!in) {
		int saved = errno;

		fprintf(stderr, "noop: cannot read CROWD_INPUT_FILE %s: %s\n", path,
			strerror(saved));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, stdout) != n) {
			perror("noop: write");
			ret = -1;
			break;
		}
	if (!ret && ferror(in)) {
		fprintf(stderr, "noop: reading %s failed\n", path);
		ret = -1;
	}
	fclose(in);
	return ret;
}

int main(void)
{
	const char *input = getenv("CROWD_INPUT");
	const char *file = getenv("CROWD_INPUT_FILE");

	if (input) {
		if (fputs(input, stdout) == EOF) {
			perror("noop: write");
			return 1;
		}
	} else if (file && *file) {
		if (print_file(file) < 0)
			return 1;
	} else {
		fputs("noop: neither CROWD_INPUT nor CROWD_INPUT_FILE is set\n",
		      stderr);
		return 1;
	}
	if (putchar('\n') == EOF || fflush(stdout) == EOF || ferror(stdout)) {
		perror("noop: write");
		return 1;
	}
	return 0;
}
