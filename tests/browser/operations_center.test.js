#!/usr/bin/env node
/* operations_center.test.js - drives the Operations Center in headless
 * Debian chromium (playwright-core, /usr/bin/chromium, a fresh empty user
 * data dir) against a real stack. Run by tests/integration/t0701-*.sh,
 * which turns its result lines into TAP:
 *   "ok - DESC", "not ok - DESC" (one per check), "# TEXT" (notes).
 * Exits 0 when every check passed, 1 when one failed, 2 on a crash.
 *
 * Environment:
 *   OC_MODE        full | smoke | noauth | bulk | errors  (default full)
 *   OC_URL         the console's base URL, prefix included, no trailing /
 *   OC_LOGIN, OC_PASSWORD   basic auth credentials (optional)
 *   OC_NODES       hosts the page must list ("127.0.0.1:P1 127.0.0.1:P2")
 *   OC_ARTIFACTS   folder for screenshots (printed as notes)
 *   OC_POOL_STOP, OC_POOL_CONT, OC_POOL_KILL, OC_POOL_START
 *                  shell commands that stop / continue / terminate /
 *                  restart the FastCGI pool (full mode: the banner checks)
 *   OC_LINK_URL    an http URL on the stack a noop job can use as input,
 *                  so its output is a link (full mode)
 *   OC_BULK_JOBS, OC_BULK_NODES  what bulk mode expects in the database
 *   OC_DB_STOP, OC_DB_START  shell commands that stop / start the
 *                  stack's MariaDB (errors mode)
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync } = require('child_process');

let chromium;
try {
	({ chromium } = require('playwright-core'));
} catch (e) {
	console.log('not ok - playwright-core loads (run tests/browser/setup.sh)');
	console.log('# ' + e.message);
	process.exit(1);
}

const MODE = process.env.OC_MODE || 'full';
const BASE = (process.env.OC_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.OC_LOGIN || '';
const PASSWORD = process.env.OC_PASSWORD || '';
const NODES = (process.env.OC_NODES || '').split(/\s+/).filter(Boolean);
const ARTIFACTS = process.env.OC_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'oc-artifacts-'));
const CHROMIUM = process.env.OC_CHROMIUM || '/usr/bin/chromium';

let failed = 0;
function diag(text) {
	String(text).split('\n').forEach((l) => console.log('# ' + l));
}
function pass(desc) { console.log('ok - ' + desc); }
function fail(desc, why) {
	failed++;
	console.log('not ok - ' + desc);
	if (why) diag('  ' + why);
}
/* check(desc, fn): fn throws to fail; a string it returns is added to desc */
async function check(desc, fn) {
	try {
		const extra = await fn();
		pass(typeof extra === 'string' && extra ? desc + ' ' + extra : desc);
		return true;
	} catch (e) {
		fail(desc, (e && e.message ? e.message : String(e)).split('\n')[0]);
		return false;
	}
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs, stepMs) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s` +
			(last !== undefined && last !== false ? ` (last: ${JSON.stringify(last)})` : ''));
		await sleep(stepMs || 150);
	}
}

function shell(cmd) {
	execSync(cmd, { shell: '/bin/bash', stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
}

async function launch(withCredentials) {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-chromium-'));
	const opts = {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			'--disable-dev-shm-usage'],
		viewport: { width: 1440, height: 1000 },
		deviceScaleFactor: 1,
		timeout: 60000,
	};
	if (withCredentials && LOGIN) opts.httpCredentials = { username: LOGIN, password: PASSWORD };
	const ctx = await chromium.launchPersistentContext(profile, opts);
	const page = ctx.pages()[0] || await ctx.newPage();
	const errors = [];
	const responses = [];
	page.on('pageerror', (e) => errors.push('page error: ' + e.message));
	page.on('console', (m) => {
		/* failed loads are checked from the responses themselves */
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) errors.push('console: ' + m.text());
	});
	page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }));
	return {
		ctx, page, errors, responses,
		async close() {
			await ctx.close().catch(() => {});
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}

async function shot(page, name) {
	const file = path.join(ARTIFACTS, name);
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: file, fullPage: true });
	diag('screenshot: ' + file);
	return file;
}

/* ---- page readers ---------------------------------------------------------- */

const count = (page, id) => page.$eval('#' + id, (n) => Number(n.getAttribute('data-value') || NaN));
const bannerShown = (page) => page.$eval('#banner', (b) => !b.hidden && b.offsetHeight > 0);

function jobRow(page, id) {
	return page.evaluate((jid) => {
		const tr = document.querySelector(`#jobs tr[data-job-id="${jid}"]`);
		if (!tr) return null;
		const bar = tr.querySelector('[role=progressbar]');
		return {
			status: tr.getAttribute('data-status'),
			percent: Number(bar.getAttribute('aria-valuenow')),
			width: tr.querySelector('.progress .bar').style.width,
			color: tr.querySelector('.progress .bar').style.backgroundColor,
			outputs: tr.querySelector('td.outputs').textContent,
			links: Array.from(tr.querySelectorAll('td.outputs a')).map((a) => a.href),
			time: tr.children[5].textContent,
		};
	}, id);
}

async function api(page, method, p, body, form) {
	const opts = { method, failOnStatusCode: false, timeout: 15000 };
	if (body !== undefined) {
		opts.headers = { 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' };
		opts.data = form ? body : JSON.stringify(body);
	}
	const r = await page.request.fetch(BASE + p, opts);
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch (e) { /* text */ }
	return { status: r.status(), json, text };
}

/* ---- scenarios ---------------------------------------------------------- */

async function loadPage(b) {
	let resp;
	await check(`GET ${BASE}/ in chromium answers 200`, async () => {
		resp = await b.page.goto(BASE + '/', { waitUntil: 'load', timeout: 30000 });
		assert(resp && resp.status() === 200, 'status ' + (resp && resp.status()));
	});
	return resp;
}

async function nodesAppear(b, timeoutMs) {
	await check(`the node list shows ${NODES.length} node(s): ${NODES.join(', ')}`, async () => {
		await until('nodes listed', async () => {
			const hosts = await b.page.$$eval('#nodes .node', (ns) => ns.map((n) => n.getAttribute('data-host')));
			return NODES.every((h) => hosts.includes(h)) && hosts.length === NODES.length;
		}, timeoutMs || 15000);
		const nc = await until('node count', async () => (await count(b.page, 'node_count')) === NODES.length, 5000);
		return nc ? `(count ${NODES.length})` : '';
	});
}

async function noBadResponses(b, desc) {
	await check(desc, async () => {
		/* a worker that finished before it was asked about is a 404: fine */
		const bad = b.responses.filter((r) => r.status >= 400 &&
			!(r.status === 404 && r.url.startsWith(BASE + '/worker/')));
		assert(!bad.length, bad.slice(0, 3).map((r) => r.status + ' ' + r.url).join(', '));
		const outside = b.responses.filter((r) => !r.url.startsWith(BASE + '/'));
		assert(!outside.length, 'requests outside ' + BASE + '/: ' + outside.slice(0, 3).map((r) => r.url).join(', '));
		assert(!b.errors.length, b.errors.slice(0, 3).join(' | '));
		return `(${b.responses.length} responses)`;
	});
}

async function full() {
	const b = await launch(true);
	const page = b.page;
	try {
		await loadPage(b);
		await check('the page has #nodes, #graphs and a hidden #banner', async () => {
			assert(await page.$('#nodes') && await page.$('#graphs'), 'missing #nodes or #graphs');
			assert(!(await bannerShown(page)), 'the banner shows on a healthy stack');
		});
		await nodesAppear(b);
		await check('the four graphs are drawn (uPlot canvases)', async () => {
			await until('4 canvases', async () => (await page.$$('#graphs canvas')).length === 4, 5000);
		});
		await check('the action list is loaded into the form', async () => {
			await until('noop in the select', async () =>
				page.$eval('#job_action', (s) => Array.from(s.options).some((o) => o.value === 'noop')), 10000);
		});
		const jobs0 = await count(page, 'job_count');
		const units0 = await count(page, 'work_unit_count');

		/* ---- a slow job, watched while it runs ---- */
		const inputs = Array.from({ length: 12 }, (_, i) => `slow-${i + 1}`);
		const created = await api(page, 'POST', '/jobs', { action: 'slow_noop', inputs, options: { sleep: 4 } });
		const slowId = created.json && created.json.id;
		await check('POST /jobs slow_noop ({"sleep": 4}, 12 inputs) is accepted', async () => {
			assert(created.status === 200 && slowId, created.status + ' ' + created.text);
			return `(job ${slowId})`;
		});
		/* sample the job's row while it runs: the progress bar must move */
		const seen = new Set();
		let sampling = true;
		const sampler = (async () => {
			while (sampling) {
				const row = await jobRow(page, slowId).catch(() => null);
				if (row) seen.add(row.percent);
				await sleep(150);
			}
		})();
		await check('the counts change while the job runs', async () => {
			const r = await until('counts up', async () => {
				const j = await count(page, 'job_count'), u = await count(page, 'work_unit_count');
				const w = await count(page, 'worker_count');
				return j > jobs0 && u > units0 && w > 0 ? { j, u, w } : false;
			}, 8000, 100);
			return `(jobs ${jobs0} -> ${r.j}, units ${units0} -> ${r.u}, workers 0 -> ${r.w})`;
		});
		let workers = [];
		await check('both nodes show their workers as pid@host', async () => {
			workers = await until('workers on every node', async () => {
				const per = await page.$$eval('#nodes .node', (ns) => ns.map((n) => ({
					host: n.getAttribute('data-host'),
					status: n.getAttribute('data-status'),
					workers: Array.from(n.querySelectorAll('button.worker')).map((w) => w.textContent),
				})));
				return per.length === NODES.length && per.every((n) => n.workers.length > 0) ? per : false;
			}, 8000, 100);
			for (const n of workers) {
				for (const w of n.workers) assert(w.endsWith('@' + n.host) && /^\d+@/.test(w), 'bad worker name ' + w);
			}
			return '(' + workers.map((n) => `${n.host}: ${n.workers.length} ${n.status}`).join('; ') + ')';
		});
		await shot(page, 'running.png');
		await check('a click on a worker shows its unit (action, job, stage, attempts)', async () => {
			const detail = await until('a worker with its unit', async () => {
				const names = await page.$$eval('#nodes button.worker', (bs) => bs.map((x) => x.getAttribute('data-worker')));
				if (!names.length) return false;
				await page.click(`#nodes button.worker[data-worker="${names[0]}"]`, { timeout: 2000 });
				const state = await until('worker answer', async () => {
					const s = await page.$eval('#worker', (w) => (w.hidden ? '' : w.getAttribute('data-state')));
					return s && s !== 'loading' ? s : false;
				}, 6000, 50);
				if (state !== 'running') return false;   /* it finished first: try the next */
				return page.$eval('#worker', (w) => ({
					name: w.querySelector('h3 code').textContent,
					action: w.querySelector('dd.action').textContent,
					job: w.querySelector('dd.job').textContent,
					stage: w.querySelector('dd.stage').textContent,
					attempts: w.querySelector('dd.attempts').textContent,
					input: w.querySelector('dd.input').textContent,
				}));
			}, 10000, 50);
			assert(detail.action === 'slow_noop', 'action ' + detail.action);
			assert(detail.job === '#' + slowId, 'job ' + detail.job);
			assert(detail.stage === 'process', 'stage ' + detail.stage);
			assert(/^slow-\d+$/.test(detail.input), 'input ' + detail.input);
			return `(${detail.name}: ${detail.action}, job ${detail.job}, ${detail.stage}, input ${detail.input})`;
		});
		await shot(page, 'worker.png');
		await check("the job's progress bar reaches 100 % and the job succeeds", async () => {
			const row = await until('100 %', async () => {
				const r = await jobRow(page, slowId);
				return r && r.percent === 100 && r.status === 'succeeded' && r.width === '100%' ? r : false;
			}, 60000, 150);
			sampling = false;
			await sampler;
			const steps = Array.from(seen).sort((x, y) => x - y);
			assert(steps.some((p) => p > 0 && p < 100), 'never saw it between 0 and 100: ' + steps.join(','));
			assert(row.color, 'the bar has no job colour');
			return `(seen ${steps.join(' -> ')} %, time ${row.time})`;
		});
		sampling = false;
		await sampler;
		await check('the counts go back down when the job is done', async () => {
			await until('counts down', async () => (await count(page, 'job_count')) === jobs0 &&
				(await count(page, 'work_unit_count')) === units0, 10000);
		});

		/* ---- the new-job form ---- */
		await check('a job created with the form (noop, 3 inputs, a link) completes', async () => {
			await page.selectOption('#job_action', 'noop');
			const link = process.env.OC_LINK_URL;
			const lines = [link || 'gamma', 'alpha', 'beta'];   /* the list shows the first two */
			await page.fill('#job_inputs', lines.join('\n'));
			await page.fill('#job_options', '{"note": "from the form"}');
			await page.click('#job_submit');
			const id = await until('the form says which job', async () =>
				page.$eval('#job_result', (r) => Number(r.getAttribute('data-job-id')) || false), 10000);
			const row = await until('the job in the list, succeeded', async () => {
				const r = await jobRow(page, id);
				return r && r.status === 'succeeded' && r.percent === 100 ? r : false;
			}, 30000);
			assert(row.outputs.includes('alpha') && row.outputs.includes('+1 more'), 'outputs: ' + row.outputs);
			if (link) assert(row.links.includes(link), 'no link to ' + link + ' in ' + JSON.stringify(row.links));
			const msg = await page.$eval('#job_result', (r) => r.textContent);
			return `(job ${id}: "${msg}"; outputs ${row.outputs}${link ? ', one a link' : ''})`;
		});
		await check('the form refuses bad options JSON without posting', async () => {
			const before = (await api(page, 'GET', '/jobs?per_page=1')).json.total;
			await page.selectOption('#job_action', 'noop');
			await page.fill('#job_inputs', 'x');
			await page.fill('#job_options', '{not json');
			await page.click('#job_submit');
			const msg = await until('an error', async () =>
				page.$eval('#job_result', (r) => (r.className === 'error' ? r.textContent : false)), 3000);
			const after = (await api(page, 'GET', '/jobs?per_page=1')).json.total;
			assert(after === before, `jobs ${before} -> ${after}`);
			return `("${msg}")`;
		});
		await check('text from the server is shown as text, never run as HTML', async () => {
			const evil = '<img src=x onerror="window.__pwned=1">';
			const r = await api(page, 'POST', '/jobs', { action: 'noop', inputs: [evil] });
			assert(r.status === 200, 'POST ' + r.status);
			const row = await until('the job done', async () => {
				const x = await jobRow(page, r.json.id);
				return x && x.status === 'succeeded' ? x : false;
			}, 30000);
			assert(row.outputs.includes('<img'), 'output not shown as text: ' + row.outputs);
			const pwned = await page.evaluate(() => window.__pwned === 1 ||
				!!document.querySelector('#jobs img, #log img'));
			assert(!pwned, 'an <img> from the data made it into the DOM');
		});

		/* ---- blacklist ---- */
		await check('a blacklisted action shows in the table', async () => {
			const r = await api(page, 'POST', '/blacklist', 'action=word_count', true);
			assert(r.status === 200, 'POST /blacklist ' + r.status + ' ' + r.text);
			await until('word_count listed', async () => !!(await page.$('#blacklist tr[data-action="word_count"]')), 10000);
		});
		await check('an action blacklisted with the form shows too', async () => {
			await page.fill('#blacklist_action', 'always_fail');
			await page.click('#blacklist_add');
			await until('always_fail listed', async () => !!(await page.$('#blacklist tr[data-action="always_fail"]')), 10000);
		});
		await shot(page, 'blacklist.png');
		await check('both can be removed with their buttons (GET /blacklist is empty after)', async () => {
			for (const a of ['word_count', 'always_fail']) {
				await page.click(`#blacklist button.remove[data-action="${a}"]`);
				await until(a + ' gone', async () => !(await page.$(`#blacklist tr[data-action="${a}"]`)), 10000);
			}
			const r = await api(page, 'GET', '/blacklist');
			assert(r.status === 200 && Array.isArray(r.json) && r.json.length === 0, r.text);
		});

		/* ---- log ---- */
		await check('the server log tail shows on the page', async () => {
			await until('log lines', async () => page.$eval('#log', (l, id) =>
				l.textContent.includes(`job ${id} created`), slowId), 10000);
			const n = await page.$eval('#log', (l) => l.textContent.split('\n').filter(Boolean).length);
			return `(${n} lines)`;
		});
		await noBadResponses(b, 'every request of the page was answered without error, under the base URL');

		/* ---- the banner ---- */
		const pool = {
			stop: process.env.OC_POOL_STOP, cont: process.env.OC_POOL_CONT,
			kill: process.env.OC_POOL_KILL, start: process.env.OC_POOL_START,
		};
		if (pool.stop && pool.cont) {
			let shown = false;
			await check('the banner shows when the FastCGI pool is stopped (SIGSTOP)', async () => {
				shell(pool.stop);
				const t0 = Date.now();
				await until('banner', () => bannerShown(page), 15000, 100);
				shown = true;
				const text = await page.$eval('#banner', (x) => x.textContent.replace(/\s+/g, ' ').trim());
				assert(/disconnected/i.test(text) && /retrying/i.test(text), 'text: ' + text);
				return `after ${((Date.now() - t0) / 1000).toFixed(1)} s: "${text}"`;
			});
			if (shown) await shot(page, 'disconnected.png');
			await check('... and goes when the pool continues (SIGCONT)', async () => {
				shell(pool.cont);
				const t0 = Date.now();
				await until('banner gone', async () => !(await bannerShown(page)), 15000, 100);
				return `(after ${((Date.now() - t0) / 1000).toFixed(1)} s)`;
			});
		} else {
			fail('the banner shows when the pool is stopped', 'OC_POOL_STOP / OC_POOL_CONT not set');
		}
		if (pool.kill && pool.start) {
			await check('the banner shows when the pool is terminated (SIGTERM: nginx answers 502)', async () => {
				shell(pool.kill);
				const t0 = Date.now();
				await until('banner', () => bannerShown(page), 15000, 100);
				return `(after ${((Date.now() - t0) / 1000).toFixed(1)} s)`;
			});
			await check('... and goes when the pool is started again; the page is live again', async () => {
				shell(pool.start);
				const t0 = Date.now();
				await until('banner gone', async () => !(await bannerShown(page)), 20000, 100);
				const r = await api(page, 'POST', '/jobs', { action: 'noop', inputs: ['after-restart'] });
				assert(r.status === 200, 'POST after restart: ' + r.status);
				await until('new job shown as succeeded', async () => {
					const x = await jobRow(page, r.json.id);
					return x && x.status === 'succeeded';
				}, 30000);
				return `(after ${((Date.now() - t0) / 1000).toFixed(1)} s; job ${r.json.id} shows up and succeeds)`;
			});
		}
		await shot(page, 'final.png');
	} finally {
		await b.close();
	}
}

/* errors: what people see when things fail. The empty charts of a first
 * load have a real time axis; the log names its central host; with the
 * database stopped (OC_DB_STOP) the banner says so, with MariaDB's words,
 * and a fresh load of the page is an HTML error page, never JSON; with it
 * started again (OC_DB_START) the page comes back by itself. */
async function errors() {
	const xLabels = (page) => page.evaluate(() => (window.CROWD_CHARTS || [])
		.map((u) => (u && u.axes[0]._values ? u.axes[0]._values.slice() : null)));
	let b = await launch(true);
	try {
		/* no data yet: /status is held until the axes are read */
		await b.page.route(BASE + '/status', () => { /* never answered */ });
		await loadPage(b);
		await check('the empty charts of a first load have a time axis of distinct times', async () => {
			const all = await until('4 charts with x labels', async () => {
				const l = await xLabels(b.page);
				return l.length === 4 && l.every((v) => v && v.length >= 2) ? l : false;
			}, 5000, 100);
			for (const v of all) {
				assert(new Set(v).size === v.length, 'repeated labels: ' + v.join(' '));
				assert(v.every((x) => /^\d\d:\d\d:\d\d$/.test(x)), 'not clock times: ' + v.join(' '));
			}
			const span = await b.page.evaluate(() => {
				const u = window.CROWD_CHARTS[0];
				return { min: u.scales.x.min, max: u.scales.x.max, now: Date.now() / 1000 };
			});
			assert(span.max - span.min >= 59 && Math.abs(span.now - span.max) < 10,
				'x scale ' + JSON.stringify(span));
			return `(${all[0].join(' ')})`;
		});
		await shot(b.page, 'empty-charts.png');
	} finally {
		await b.close();
	}
	b = await launch(true);
	const page = b.page;
	try {
		await loadPage(b);
		await check('the server log says which central host it shows', async () => {
			const t = await until('log host', async () => {
				const x = await page.$eval('#log_host', (n) => n.textContent);
				return /^log of .+ \(127\.0\.0\.1:\d+\)/.test(x) ? x : false;
			}, 10000);
			return `("${t}")`;
		});
		const db = { stop: process.env.OC_DB_STOP, start: process.env.OC_DB_START };
		if (!db.stop || !db.start) {
			fail('the database checks', 'OC_DB_STOP / OC_DB_START not set');
			return;
		}
		let shown = false;
		await check('with the database stopped, the banner says it is unavailable, in MariaDB\'s words', async () => {
			shell(db.stop);
			const t0 = Date.now();
			await until('banner', () => bannerShown(page), 15000, 100);
			shown = true;
			const text = await until('database banner', async () => {
				const x = await page.$eval('#banner', (n) => n.textContent.replace(/\s+/g, ' ').trim());
				return /The database is unavailable/.test(x) ? x : false;
			}, 10000, 100);
			assert(/Can't connect|Lost connection|gone away/.test(text), 'no MariaDB message: ' + text);
			assert(!/\{"error"/.test(text), 'raw JSON in the banner: ' + text);
			const conn = await page.$eval('#conn_text', (n) => n.textContent);
			assert(conn === 'database unavailable', 'connection state: ' + conn);
			return `after ${((Date.now() - t0) / 1000).toFixed(1)} s: "${text}"`;
		});
		if (shown) await shot(page, 'database-unavailable.png');
		await check('a fresh load of the page while the database is away is an HTML error page, not JSON', async () => {
			const resp = await page.goto(BASE + '/', { waitUntil: 'load', timeout: 30000 });
			assert(resp.status() === 503, 'status ' + resp.status());
			assert(/^text\/html/.test(resp.headers()['content-type'] || ''), 'type ' + resp.headers()['content-type']);
			const title = await page.$eval('h1', (n) => n.textContent);
			const body = await page.evaluate(() => document.body.innerText);
			assert(title === 'The database is unavailable', 'title ' + title);
			assert(/Can't connect/.test(body) && !/\{"error"/.test(body), 'body ' + body);
			return `("${title}")`;
		});
		await shot(page, 'database-unavailable-page.png');
		await check('when the database is back, the error page turns into the console by itself', async () => {
			shell(db.start);
			const t0 = Date.now();
			await until('the console again', async () => (await page.$('#graphs')) !== null, 60000, 250);
			await until('no banner', async () => !(await bannerShown(page)), 15000, 100);
			return `(after ${((Date.now() - t0) / 1000).toFixed(1)} s)`;
		});
	} finally {
		await b.close();
	}
}

/* smoke: the page works (used with basic auth and under a path prefix) */
async function smoke() {
	const b = await launch(true);
	try {
		await loadPage(b);
		await nodesAppear(b);
		await check('the counts, the action list and the log are filled in', async () => {
			await until('filled', async () => b.page.evaluate(() => {
				const n = (id) => document.getElementById(id).getAttribute('data-value');
				return n('job_count') !== null && n('worker_count') !== null &&
					document.querySelectorAll('#job_action option').length > 1 &&
					document.getElementById('log').textContent.length > 0 &&
					document.getElementById('conn').getAttribute('data-state') === 'up';
			}), 10000);
		});
		await check('a job posted by the page shows up and succeeds', async () => {
			await b.page.selectOption('#job_action', 'noop');
			await b.page.fill('#job_inputs', 'smoke-1\nsmoke-2');
			await b.page.click('#job_submit');
			const id = await until('job id', async () =>
				b.page.$eval('#job_result', (r) => Number(r.getAttribute('data-job-id')) || false), 10000);
			await until('succeeded', async () => {
				const r = await jobRow(b.page, id);
				return r && r.status === 'succeeded' && r.percent === 100;
			}, 30000);
			return `(job ${id})`;
		});
		await check('no banner', async () => assert(!(await bannerShown(b.page)), 'banner shown'));
		await noBadResponses(b, 'every request was answered without error, all under ' + BASE + '/');
		await shot(b.page, (process.env.OC_SHOT || 'smoke') + '.png');
	} finally {
		await b.close();
	}
}

/* noauth: without credentials the console is refused */
async function noauth() {
	const b = await launch(false);
	try {
		await check('without credentials chromium is refused the page (401)', async () => {
			/* headless chromium answers the challenge by giving up:
			 * ERR_INVALID_AUTH_CREDENTIALS, or the 401 page itself */
			const resp = await b.page.goto(BASE + '/', { waitUntil: 'load', timeout: 30000 }).catch((e) => e);
			const status = resp && typeof resp.status === 'function' ? resp.status() : null;
			const refused = status === 401 ||
				(resp instanceof Error && /ERR_INVALID_AUTH_CREDENTIALS/.test(resp.message));
			assert(refused, 'got ' + (status || resp));
			const seen = b.responses.filter((r) => r.url === BASE + '/').map((r) => r.status);
			assert(seen.length && seen.every((s) => s === 401), 'responses for the page: ' + seen.join(','));
			const hasConsole = await b.page.$('#nodes').catch(() => null);
			assert(!hasConsole, 'the console rendered anyway');
			return `(${status ? 'status ' + status : 'ERR_INVALID_AUTH_CREDENTIALS'}, the server said ${seen.join(',')})`;
		});
		await check('without credentials the JSON the page polls is refused too (401)', async () => {
			const codes = [];
			for (const p of ['/status', '/jobs?page=1', '/log', '/static/js/operations_center.js']) {
				const r = await api(b.page, 'GET', p);
				codes.push(r.status);
				assert(r.status === 401, p + ': ' + r.status);
			}
			return `(${codes.join(', ')})`;
		});
	} finally {
		await b.close();
	}
}

/* bulk: thousands of jobs, hundreds of nodes: the page stays fast */
async function bulk() {
	const wantJobs = Number(process.env.OC_BULK_JOBS || 10000);
	const wantNodes = Number(process.env.OC_BULK_NODES || 200);
	const b = await launch(true);
	const page = b.page;
	try {
		const t0 = Date.now();
		await loadPage(b);
		await check(`with ${wantJobs} jobs and ${wantNodes} nodes the page is filled in quickly`, async () => {
			await until('filled', async () => page.evaluate(([j, n]) => {
				return document.querySelectorAll('#nodes .node').length >= n &&
					document.querySelectorAll('#jobs tbody tr').length === 20 &&
					document.getElementById('jobs_page').textContent === 'page 1 of ' + Math.ceil(j / 20);
			}, [wantJobs, wantNodes]), 10000, 50);
			const ms = Date.now() - t0;
			assert(ms < 8000, `took ${ms} ms`);
			return `(${ms} ms)`;
		});
		await check('the polled JSON answers fast (/status, /jobs page)', async () => {
			const times = {};
			for (const p of ['/status', '/jobs?page=1&per_page=20', '/jobs?page=400&per_page=20']) {
				const list = [];
				for (let i = 0; i < 5; i++) {
					const t = Date.now();
					const r = await api(page, 'GET', p);
					assert(r.status === 200, p + ' ' + r.status);
					list.push(Date.now() - t);
				}
				list.sort((x, y) => x - y);
				times[p] = list[2];
				assert(list[2] < 500, `${p}: median ${list[2]} ms`);
			}
			return '(median ms: ' + Object.keys(times).map((k) => `${k} ${times[k]}`).join(', ') + ')';
		});
		await check('the pager goes to older jobs and back', async () => {
			const first = await page.$eval('#jobs tbody tr', (tr) => Number(tr.getAttribute('data-job-id')));
			await page.click('#jobs_next');
			await until('page 2', async () => page.evaluate((f) => {
				const tr = document.querySelector('#jobs tbody tr');
				return document.getElementById('jobs_page').textContent.startsWith('page 2 of') &&
					tr && Number(tr.getAttribute('data-job-id')) === f - 20;
			}, first), 8000);
			await page.click('#jobs_prev');
			await until('page 1', async () => page.evaluate((f) => {
				const tr = document.querySelector('#jobs tbody tr');
				return tr && Number(tr.getAttribute('data-job-id')) === f;
			}, first), 8000);
		});
		await check('the node filter narrows the list', async () => {
			await page.fill('#node_filter', 'bulk-tag-7');
			const n = await until('filtered', async () => {
				const k = await page.$$eval('#nodes .node', (ns) => ns.length);
				return k > 0 && k < wantNodes ? k : false;
			}, 5000);
			await page.fill('#node_filter', '');
			return `(${n} nodes tagged bulk-tag-7*)`;
		});
		await check('the page keeps polling without piling up (over 6 s)', async () => {
			const before = b.responses.length;
			await sleep(6000);
			const n = b.responses.length - before;
			assert(n >= 4 && n <= 40, n + ' responses in 6 s');
			assert(!(await bannerShown(page)), 'banner shown');
			return `(${n} responses in 6 s)`;
		});
		await noBadResponses(b, 'every request was answered without error');
		await shot(page, 'bulk.png');
	} finally {
		await b.close();
	}
}

/* docs: not a test. Stages a busy cluster (jobs succeeded, failed, running,
 * a blacklisted action, a worker opened) and saves the README's screenshot
 * to OC_DOCS_SHOT. Run by tests/browser/docs-screenshot.sh. */
async function docs() {
	const b = await launch(true);
	const page = b.page;
	const post = async (action, inputs, options) => {
		const r = await api(page, 'POST', '/jobs', { action, inputs, options: options || {} });
		assert(r.status === 200, `POST ${action}: ${r.status} ${r.text}`);
		return r.json.id;
	};
	const done = async (id) => until('job ' + id, async () => {
		const r = await api(page, 'GET', '/jobs/' + id);
		return r.json && /succeeded|failed/.test(r.json.status);
	}, 60000, 200);
	try {
		await page.setViewportSize({ width: 1440, height: 900 });
		await page.goto(BASE + '/', { waitUntil: 'load' });
		await sleep(3000);
		const files = (process.env.OC_DOCS_FILES || '').split(/\s+/).filter(Boolean);
		await done(await post('word_count', files.map((f) => 'file://' + f)));
		await sleep(1500);
		const link = process.env.OC_LINK_URL;
		await done(await post('noop', link ? [link, 'page-2', 'page-3'] : ['a', 'b', 'c']));
		await sleep(1500);
		await done(await post('always_fail', ['bad-input']));
		await sleep(1500);
		await done(await post('echo', ['hello', 'world']));
		await api(page, 'POST', '/blacklist', 'action=graphics_magick', true);
		await sleep(1500);
		await post('slow_noop', Array.from({ length: 9 }, (_, i) => `scan-${i + 1}.tif`), { sleep: 6 });
		await sleep(2500);
		await post('slow_noop', Array.from({ length: 24 }, (_, i) => `frame-${i + 1}.png`), { sleep: 30 });
		/* the first slow job at 67 %: 6 of its 9 units done */
		await sleep(5000);
		const name = await until('a worker', async () =>
			page.$eval('#nodes button.worker', (x) => x.getAttribute('data-worker')).catch(() => false), 10000);
		await page.click(`#nodes button.worker[data-worker="${name}"]`);
		await sleep(1500);
		await page.evaluate(() => window.scrollTo(0, 0));
		const file = process.env.OC_DOCS_SHOT || path.join(ARTIFACTS, 'operations-center.png');
		await page.screenshot({ path: file, fullPage: true });
		diag('docs screenshot: ' + file);
		pass('docs screenshot saved');
	} finally {
		await b.close();
	}
}

(async () => {
	if (!BASE) throw new Error('OC_URL is not set');
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	const run = { full, smoke, noauth, bulk, docs, errors }[MODE];
	if (!run) throw new Error('unknown OC_MODE ' + MODE);
	diag(`browser test (${MODE}) against ${BASE}/ with ${CHROMIUM}`);
	await run();
	process.exit(failed ? 1 : 0);
})().catch((e) => {
	fail(`the ${MODE} browser run finishes`, e && e.stack ? e.stack : String(e));
	process.exit(2);
});
