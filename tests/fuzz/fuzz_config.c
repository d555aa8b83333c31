/* fuzz_config.c - libFuzzer target for cc_config_load_string: crowd.conf
 * text is operator input, and every binary parses it first. Beyond "no
 * crash, no leak" it checks invariants:
 *   - a failed load leaves a message that starts with the file name;
 *   - a successful load leaves every value inside the limits the table
 *     promises (a number key can hold no NaN, storage and log_level are
 *     among their allowed words, strings are NUL-terminated in their
 *     fields, http_authentication implies login and password).
 * Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define NAME "fuzz.conf"
#define DIR "/nonexistent/fuzzconf"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} } while (0)

#define TERMINATED(field) CHECK(memchr(cfg.field, '\0', sizeof(cfg.field)))
#define IN(field, lo, hi) CHECK(cfg.field >= (lo) && cfg.field <= (hi))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cc_config cfg;
	struct cc_err err = { 0 };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cc_config_load_string(&cfg, DIR, text, NAME, &err) < 0) {
		CHECK(!strncmp(err.msg, NAME, strlen(NAME)));
		free(text);
		return 0;
	}
	free(text);

	TERMINATED(central_server); TERMINATED(storage);
	TERMINATED(local_storage_path); TERMINATED(temp_storage_path);
	TERMINATED(login); TERMINATED(password); TERMINATED(actions_path);
	TERMINATED(disabled_actions); TERMINATED(s3_bucket);
	TERMINATED(aws_access_key); TERMINATED(aws_secret_key);
	TERMINATED(s3_endpoint); TERMINATED(s3_region); TERMINATED(log_path);
	TERMINATED(pid_path); TERMINATED(log_level); TERMINATED(node_host);
	TERMINATED(node_tag); TERMINATED(server_socket); TERMINATED(db_host);
	TERMINATED(db_socket); TERMINATED(db_user); TERMINATED(db_password);
	TERMINATED(db_name);

	CHECK(!strcmp(cfg.storage, "filesystem") || !strcmp(cfg.storage, "s3"));
	CHECK(strcmp(cfg.storage, "s3") || cfg.s3_bucket[0]);
	CHECK(!strcmp(cfg.log_level, "debug") || !strcmp(cfg.log_level, "info") ||
	      !strcmp(cfg.log_level, "warn") || !strcmp(cfg.log_level, "error"));
	CHECK(!strncmp(cfg.central_server, "http://", 7) ||
	      !strncmp(cfg.central_server, "https://", 8));
	CHECK(!cfg.http_authentication || (cfg.login[0] && cfg.password[0]));
	CHECK(cfg.http_authentication == 0 || cfg.http_authentication == 1);
	CHECK(cfg.s3_authentication == 0 || cfg.s3_authentication == 1);

	IN(max_workers, 0, 1024);
	IN(max_load, -1, 1e6);          /* false for NaN */
	IN(min_free_memory, 0, 1 << 30);
	IN(work_unit_retries, 1, 1000);
	IN(node_timeout, 1, 3600);
	IN(server_timeout, 1, 3600);
	IN(connect_timeout, 1, 600);
	IN(action_timeout, 0, 30 * 86400);
	IN(lease_grace, 1, 86400);
	IN(check_in_interval, 1, 86400);
	IN(node_expiry_intervals, 1, 1000);
	IN(dispatch_interval, 1, 86400);
	IN(retry_backoff, 0, 86400);
	IN(callback_retries, 0, 100);
	IN(max_download_mb, 1, 1 << 20);
	IN(max_output_kb, 1, 1 << 20);
	IN(node_port, 1, 65535);
	IN(server_workers, 1, 256);
	IN(server_port, 1, 65535);
	IN(max_body_kb, 1, 1 << 20);
	IN(db_port, 0, 65535);

	/* relative paths were resolved against the folder */
	CHECK(!cfg.actions_path[0] || cfg.actions_path[0] == '/');
	CHECK(!cfg.log_path[0] || cfg.log_path[0] == '/');
	CHECK(!cfg.server_socket[0] || cfg.server_socket[0] == '/');
	return 0;
}
