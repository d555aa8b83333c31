/* noop/process - the "noop" test action: prints its input unchanged.
 * CROWD_INPUT holds the input as JSON text; printing it back makes the
 * unit's output the same JSON value. Written in C so a unit costs one
 * exec and no interpreter start (tests and benchmarks). No options.
 * Exit 0 on success; 1 (message on stderr) when CROWD_INPUT is missing or
 * stdout cannot be written. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	const char *input = getenv("CROWD_INPUT");

	if (!input) {
		fputs("noop: CROWD_INPUT is not set\n", stderr);
		return 1;
	}
	if (fputs(input, stdout) == EOF || putchar('\n') == EOF ||
	    fflush(stdout) == EOF || ferror(stdout)) {
		perror("noop: write");
		return 1;
	}
	return 0;
}
