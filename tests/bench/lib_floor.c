/* lib_floor.c - W5 of `make bench`: the memory floor of a program that
 * links the same shared libraries as crowd-server or crowd-node and does
 * nothing else: the dynamic loader maps and relocates them, their
 * constructors run, libcurl is initialised (curl_global_init, which both
 * programs call first; it initialises OpenSSL). What a program costs
 * beyond this floor is its own doing; the floor itself is Debian's
 * libraries. run.sh builds it twice, linked (--no-as-needed) like each.
 *
 * usage: lib_floor
 * prints: rss_kb=<VmRSS> file_kb=<RssFile> anon_kb=<RssAnon> */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static long field(const char *name)
{
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			sscanf(line + n + 1, "%ld", &v);
			break;
		}
	fclose(f);
	return v;
}

int main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	printf("rss_kb=%ld file_kb=%ld anon_kb=%ld\n", field("VmRSS"),
	       field("RssFile"), field("RssAnon"));
	curl_global_cleanup();
	return 0;
}
