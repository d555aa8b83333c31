/* lists.c - the client commands that show or change central's lists:
 * `jobs` (GET /jobs, paged), `nodes` (GET /status: each node with its
 * busy/max workers) and `blacklist add|rm|ls` (add warns when no installed
 * action has the name; add --for S lapses by itself, ls shows when).
 * Results on stdout, messages on stderr; any 4xx or
 * 5xx answer is CC_EXIT_CENTRAL with central's reason (cli_refused). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "model/action.h"
#include "model/blacklist.h"
#include "cli.h"
#include "core/form.h"
#include "core/log.h"
#include "progress.h"

/* GET path, answer 200 with JSON into *out (new ref). */
static int get_json(struct cli *c, struct cc_http *http, const char *path,
		    json_t **out)
{
	struct cc_http_resp resp;
	char msg[512];
	int rc;

	*out = NULL;
	if ((rc = cli_central(c, http, "GET", path, NULL, CLI_REQ_TIMEOUT, &resp)))
		return rc;
	if (resp.status != 200)
		rc = cli_refused(&resp, "GET %s", path);
	else if (!(*out = json_loads(resp.body, 0, NULL)))
		rc = cli_fail(CC_EXIT_CENTRAL, "GET %s: not JSON: %s", path,
			      cli_resp_error(&resp, msg, sizeof(msg)));
	if (*out && c->json) {
		printf("%s\n", resp.body);
	}
	cc_http_resp_cleanup(&resp);
	return rc;
}

int cli_cmd_jobs(struct cli *c, int argc, char **argv)
{
	struct cc_http *http;
	json_t *page = NULL, *job;
	char path[96], el[32];
	long p = c->page ? c->page : 1, per = c->per_page ? c->per_page : 20;
	long long total;
	size_t i;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("jobs takes no arguments (--page N, --per-page N)");
	if (!(http = cli_client_new(c, &rc)))
		return rc;
	snprintf(path, sizeof(path), "/jobs?page=%ld&per_page=%ld", p, per);
	if ((rc = get_json(c, http, path, &page)) != CC_EXIT_OK || c->json)
		goto out;
	total = json_integer_value(json_object_get(page, "total"));
	printf("%8s  %-10s %5s %6s %9s  %-20s %s\n", "ID", "STATUS", "DONE", "UNITS",
	       "TIME", "ACTION", "CREATED");
	json_array_foreach(json_object_get(page, "jobs"), i, job) {
		struct cli_job_view v;
		const char *action = json_string_value(json_object_get(job, "action"));
		const char *created = json_string_value(json_object_get(job, "created_at"));
		if (cli_job_view_from_json(job, &v) < 0)
			continue;
		cli_fmt_elapsed(v.seconds, el, sizeof(el));
		printf("%8lld  %-10s %4d%% %6lld %9s  %-20s %s\n", v.id, v.status,
		       v.percent, v.units, el, action ? action : "?",
		       created ? created : "?");
	}
	long pages = total > 0 ? (long)((total + per - 1) / per) : 1;
	printf("page %ld of %ld (%lld job%s, %ld per page)%s", p, pages, total,
	       total == 1 ? "" : "s", per, p < pages ? "; next: crowd jobs --page " : "\n");
	if (p < pages)
		printf("%ld\n", p + 1);
out:
	json_decref(page);
	cc_http_free(http);
	return rc;
}

int cli_cmd_nodes(struct cli *c, int argc, char **argv)
{
	struct cc_http *http;
	json_t *st = NULL, *node, *nodes;
	size_t i;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("nodes takes no arguments");
	if (!(http = cli_client_new(c, &rc)))
		return rc;
	if ((rc = get_json(c, http, "/status", &st)) != CC_EXIT_OK || c->json)
		goto out;
	nodes = json_object_get(st, "nodes");
	printf("%-32s %-12s %-10s %-9s %s\n", "NODE", "TAG", "STATUS", "BUSY/MAX",
	       "WORKER PIDS");
	json_array_foreach(nodes, i, node) {
		const char *host = json_string_value(json_object_get(node, "host"));
		const char *tag = json_string_value(json_object_get(node, "tag"));
		const char *status = json_string_value(json_object_get(node, "status"));
		const json_t *workers = json_object_get(node, "workers");
		const json_t *max = json_object_get(node, "max_workers");
		char load[48], *pids = json_array_size(workers) ?
			json_dumps(workers, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		/* max_workers null or 0: the node takes any number */
		if (json_is_integer(max) && json_integer_value(max) > 0)
			snprintf(load, sizeof(load), "%zu/%lld", json_array_size(workers),
				 (long long)json_integer_value(max));
		else
			snprintf(load, sizeof(load), "%zu/-", json_array_size(workers));
		printf("%-32s %-12s %-10s %-9s %s\n", host ? host : "?",
		       tag && *tag ? tag : "-", status ? status : "?", load,
		       pids ? pids : "-");
		free(pids);
	}
	printf("%zu node%s; %lld job%s, %lld work unit%s in progress\n",
	       json_array_size(nodes), json_array_size(nodes) == 1 ? "" : "s",
	       (long long)json_integer_value(json_object_get(st, "job_count")),
	       json_integer_value(json_object_get(st, "job_count")) == 1 ? "" : "s",
	       (long long)json_integer_value(json_object_get(st, "work_unit_count")),
	       json_integer_value(json_object_get(st, "work_unit_count")) == 1 ? "" : "s");
out:
	json_decref(st);
	cc_http_free(http);
	return rc;
}

/* Whether an action called name is installed where we can see: the config
 * folder's actions_path, or central's GET /actions. */
static int action_known(struct cli *c, struct cc_http *http, const char *name,
			int *asked_central)
{
	struct cc_http_resp resp = { 0 };
	struct cc_err err = { 0 };
	char path[CC_PATH_LEN + 128], base[CC_STR_LEN], url[CC_STR_LEN + 16];
	json_t *list = NULL, *a;
	struct stat st;
	size_t i;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s", c->cfg.actions_path, name);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	cli_central_url(c, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/actions", base);
	*asked_central = cc_http_request(http, "GET", url, NULL, CLI_REQ_TIMEOUT, &resp,
					 &err) == 0 && resp.status == 200 &&
			 (list = json_loads(resp.body, 0, NULL)) != NULL;
	json_array_foreach(list, i, a) {
		const char *n = json_string_value(json_object_get(a, "name"));
		if (n && !strcmp(n, name))
			found = 1;
	}
	json_decref(list);
	cc_http_resp_cleanup(&resp);
	return found;
}

int cli_cmd_blacklist(struct cli *c, int argc, char **argv)
{
	struct cc_strbuf form = { 0 };
	struct cc_http_resp resp = { 0 };
	struct cc_http *http;
	struct cc_err err = { 0 };
	json_t *list = NULL, *rec;
	const char *sub = argc ? argv[0] : "ls";
	char path[128];
	long long for_s = 0;
	size_t i;
	int rc, add = !strcmp(sub, "add"), rm = !strcmp(sub, "rm");

	if (!add && !rm && strcmp(sub, "ls"))
		return cli_usage("blacklist: '%s' is not add, rm or ls", sub);
	if ((add || rm) && argc != 2)
		return cli_usage("blacklist %s takes one action name", sub);
	if (!add && !rm && argc != 1)
		return cli_usage("blacklist ls takes no action name");
	if ((add || rm) && !cc_action_name_valid(argv[1]))
		return cli_usage("blacklist: '%s' is not an action name ([a-z0-9_]+)",
				 argv[1]);
	if (c->for_arg && !add)
		return cli_usage("--for applies to blacklist add only");
	if (c->for_arg && cc_blacklist_for_parse(c->for_arg, &for_s, &err) < 0)
		return cli_usage("--for '%s': %s", c->for_arg, err.msg);
	if (!(http = cli_client_new(c, &rc)))
		return rc;
	if (!add && !rm) {
		if ((rc = get_json(c, http, "/blacklist", &list)) != CC_EXIT_OK || c->json)
			goto out;
		json_array_foreach(list, i, rec) {
			const char *since = json_string_value(json_object_get(rec, "created_at"));
			const char *until = json_string_value(json_object_get(rec, "until"));

			printf("%-32s since %s%s%s\n",
			       json_string_value(json_object_get(rec, "action")),
			       since ? since : "?", until ? "  until " : "",
			       until ? until : "");
		}
		if (!json_array_size(list))
			printf("(no action is blacklisted)\n");
		goto out;
	}
	if (add) {
		cc_form_add(&form, "action", argv[1]);
		if (for_s) {
			char n[24];

			snprintf(n, sizeof(n), "%lld", for_s);
			cc_form_add(&form, "for", n);
		}
		rc = cli_central(c, http, "POST", "/blacklist", form.data, CLI_REQ_TIMEOUT,
				 &resp);
	} else {
		snprintf(path, sizeof(path), "/blacklist/%s", argv[1]);
		rc = cli_central(c, http, "DELETE", path, NULL, CLI_REQ_TIMEOUT, &resp);
	}
	if (rc != CC_EXIT_OK)
		goto out;
	if (resp.status != 200) {
		rc = cli_refused(&resp, "blacklist %s %s", sub, argv[1]);
		goto out;
	}
	if (add) {
		json_t *added = json_loads(resp.body, 0, NULL);
		const char *until = json_string_value(json_object_get(added, "until"));
		int asked = 0;

		if (until)
			cc_info("blacklisted %s for %lld s: its units are not dispatched "
				"until %s (or `crowd blacklist rm %s`)", argv[1], for_s,
				until, argv[1]);
		else
			cc_info("blacklisted %s: its units are not dispatched until `crowd "
				"blacklist rm %s`", argv[1], argv[1]);
		json_decref(added);
		if (!action_known(c, http, argv[1], &asked))
			fprintf(stderr, "crowd: warning: no installed action is named '%s' "
				"(not in %s%s): a typo? (crowd blacklist rm %s undoes it)\n",
				argv[1], c->cfg.actions_path, asked ? ", nor in central's "
				"GET /actions" : "; central's GET /actions did not answer",
				argv[1]);
	}
	else
		cc_info("removed %s from the blacklist", argv[1]);
out:
	cc_http_resp_cleanup(&resp);
	cc_strbuf_free(&form);
	json_decref(list);
	cc_http_free(http);
	return rc;
}
