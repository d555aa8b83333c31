/* driver.c - runs a libFuzzer target without libFuzzer, so that make test
 * exercises every target with gcc: each input of the target's seed corpus
 * (tests/fuzz/corpus/<target>/), then MUTATIONS deterministic
 * pseudo-random mutations of each (bit flips, bytes from a small
 * dictionary of syntax characters, insertions, deletions, repeated and
 * spliced chunks, truncation), fed to LLVMFuzzerTestOneInput. Linked with
 * one fuzz_<target>.c into build/<variant>/tests/test_fuzz_<target>,
 * which tests/run.sh runs like the cmocka binaries: the output uses
 * cmocka's lines, one test per seed file.
 *
 * A target reports a broken invariant by abort(); ASan/UBSan abort on
 * memory errors. Either way the process dies, and a handler first writes
 * the input that did it to $TMPDIR/<target>-crash (replay it with
 * `test_fuzz_<target> FILE`, or with the libFuzzer build).
 *
 * Usage: test_fuzz_<target> [-n MUTATIONS] [FILE|DIR...]
 *   default: the corpus folder, 300 mutations per input. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CC_SOURCE_DIR
#define CC_SOURCE_DIR "."
#endif

#define DEFAULT_MUTATIONS 300
#define MAX_LEN (64 * 1024)      /* mutated inputs stay below this */
#define MAX_FILES 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the crash handler ------------------------------------------------------ */

static char crash_path[PATH_MAX];
static const uint8_t *current;
static size_t current_len;

static void put(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

/* async-signal-safe: save the input being run, then die as before */
static void on_crash(int sig)
{
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0 && current) {
		ssize_t r = write(fd, current, current_len);
		(void)r;
		close(fd);
		put("fuzz driver: the input that crashed is saved in ");
		put(crash_path);
		put("\n");
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *data, size_t size)
{
	/* an exactly-sized copy, as libFuzzer passes: ASan sees overreads */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy) {
		fprintf(stderr, "fuzz driver: out of memory\n");
		exit(2);
	}
	memcpy(copy, data, size);
	current = copy;
	current_len = size;
	LLVMFuzzerTestOneInput(copy, size);
	current = NULL;
	free(copy);
}

/* ---- mutations -------------------------------------------------------------- */

static uint64_t rng;

static uint64_t next(void)
{
	/* xorshift64*: the same sequence on every machine */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

static const char dict[] = "{}[]\":,\\0-+.eE/%&=?#\t\n \x00\x7f\x80\xc3\xa9\xef\xbf\xbd\xff"
			   "tfnu";

/* one mutation of buf (len bytes, room for MAX_LEN); returns the new
 * length. other/olen: another seed, for splicing. */
static size_t mutate(uint8_t *buf, size_t len, const uint8_t *other, size_t olen)
{
	size_t pos = below(len + 1), n;

	switch (below(8)) {
	case 0:                                  /* flip a bit */
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1:                                  /* a dictionary byte */
		if (len)
			buf[below(len)] = (uint8_t)dict[below(sizeof(dict) - 1)];
		break;
	case 2:                                  /* insert a dictionary byte */
		if (len < MAX_LEN) {
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = (uint8_t)dict[below(sizeof(dict) - 1)];
			len++;
		}
		break;
	case 3:                                  /* delete a run */
		n = below(len - pos < 16 ? len - pos + 1 : 17);
		memmove(buf + pos, buf + pos + n, len - pos - n);
		len -= n;
		break;
	case 4:                                  /* repeat a chunk */
		if (len && pos < len) {
			n = 1 + below(len - pos < 64 ? len - pos : 64);
			if (len + n <= MAX_LEN) {
				memmove(buf + pos + n, buf + pos, len - pos);
				len += n;
			}
		}
		break;
	case 5:                                  /* splice in the other seed */
		if (olen) {
			size_t from = below(olen);
			n = 1 + below(olen - from);
			if (pos + n > MAX_LEN)
				n = MAX_LEN - pos;
			memcpy(buf + pos, other + from, n);
			if (pos + n > len)
				len = pos + n;
		}
		break;
	case 6:                                  /* truncate */
		len = pos;
		break;
	default:                                 /* a random byte */
		if (len)
			buf[below(len)] = (uint8_t)next();
		break;
	}
	return len;
}

/* ---- the corpus -------------------------------------------------------------- */

struct seed {
	char path[PATH_MAX];
	uint8_t *data;
	size_t len;
};

static struct seed seeds[MAX_FILES];
static size_t nseeds;

static int load(const char *path)
{
	struct seed *s;
	FILE *fp;
	long n;

	if (nseeds == MAX_FILES) {
		fprintf(stderr, "fuzz driver: more than %d inputs\n", MAX_FILES);
		return -1;
	}
	s = &seeds[nseeds];
	if (!(fp = fopen(path, "rb")) || fseek(fp, 0, SEEK_END) < 0 ||
	    (n = ftell(fp)) < 0 || n > MAX_LEN || fseek(fp, 0, SEEK_SET) < 0) {
		fprintf(stderr, "fuzz driver: cannot read %s (or over %d bytes)\n",
			path, MAX_LEN);
		if (fp)
			fclose(fp);
		return -1;
	}
	s->data = malloc((size_t)n + 1);
	if (!s->data || fread(s->data, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "fuzz driver: cannot read %s\n", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	s->len = (size_t)n;
	snprintf(s->path, sizeof(s->path), "%s", path);
	nseeds++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct seed *)a)->path, ((const struct seed *)b)->path);
}

static int load_arg(const char *arg)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	char path[PATH_MAX];
	size_t first = nseeds;

	if (stat(arg, &st) < 0) {
		fprintf(stderr, "fuzz driver: %s: no such file or folder\n", arg);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load(arg);
	if (!(d = opendir(arg)))
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", arg, e->d_name);
		if (load(path) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	/* readdir order differs between file systems: sort for a fixed run */
	qsort(seeds + first, nseeds - first, sizeof(seeds[0]), by_name);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	static uint8_t buf[MAX_LEN + 1];
	char target[128], dir[PATH_MAX];
	long mutations = DEFAULT_MUTATIONS;
	int first = 1;

	/* test_fuzz_X -> fuzz_X */
	snprintf(target, sizeof(target), "%s", base_name(argv[0]));
	if (!strncmp(target, "test_", 5))
		memmove(target, target + 5, strlen(target + 5) + 1);
	if (argc > 2 && !strcmp(argv[1], "-n")) {
		mutations = strtol(argv[2], NULL, 10);
		first = 3;
	}
	snprintf(crash_path, sizeof(crash_path), "%s/%s-crash",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", target);
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGILL, on_crash);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (first == argc) {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", CC_SOURCE_DIR,
			 target);
		if (load_arg(dir) < 0)
			return 2;
	}
	for (int i = first; i < argc; i++)
		if (load_arg(argv[i]) < 0)
			return 2;
	if (!nseeds) {
		fprintf(stderr, "fuzz driver: no inputs\n");
		return 2;
	}

	printf("[==========] Running %zu test(s).\n", nseeds);
	for (size_t i = 0; i < nseeds; i++) {
		const struct seed *s = &seeds[i], *o = &seeds[(i + 1) % nseeds];

		printf("[ RUN      ] %s %s + %ld mutations\n", target,
		       base_name(s->path), mutations);
		run(s->data, s->len);
		rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(i + 1);
		for (long m = 0; m < mutations; m++) {
			size_t len = s->len;
			int k = 1 + (int)below(4);

			memcpy(buf, s->data, len);
			while (k--)
				len = mutate(buf, len, o->data, o->len);
			run(buf, len);
		}
		printf("[       OK ] %s %s\n", target, base_name(s->path));
	}
	run((const uint8_t *)"", 0);
	printf("[==========] %zu test(s) run.\n", nseeds);
	printf("[  PASSED  ] %zu test(s).\n", nseeds);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	return 0;
}
