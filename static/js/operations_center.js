/* operations_center.js - the live view of the CloudCrowd Operations Center.
 *
 * Polls the central server's JSON endpoints (GET /status, /jobs?page=,
 * /blacklist, /log, /actions, /worker/PID@HOST:PORT), each on its own timer
 * that is re-armed only when the previous request is done, so a slow server
 * never gets a pile of requests. Lists are paged or bounded on the server:
 * the page stays fast with 10,000 jobs and 200 nodes.
 *
 * Every URL is CROWD_PREFIX + path (the central server may be mounted under
 * a path); fetch is same-origin, so the browser's HTTP basic auth
 * credentials go along. Nothing from the server is ever parsed as HTML:
 * text goes in with textContent, links only when they are http(s) URLs.
 */
(function () {
	'use strict';

	var PREFIX = (document.body.getAttribute('data-prefix') || '').replace(/\/+$/, '');
	window.CROWD_PREFIX = PREFIX;

	var TIMEOUT_MS = 4000;       /* a request not answered by then failed */
	var STATUS_MS = 1500;        /* the heartbeat of the page */
	var JOBS_MS = 2000;
	var BLACKLIST_MS = 4000;
	var LOG_MS = 3000;
	var WORKER_MS = 2000;
	var ACTIONS_MS = 60000;
	var RETRY_MS = 2000;         /* while disconnected */
	var HIDDEN_MS = 10000;       /* while the tab is hidden */
	var HISTORY = 1200;          /* graph points kept (30 min at 1.5 s) */
	var PER_PAGE = 20;

	function $(id) { return document.getElementById(id); }

	/* el('tr', {className: 'x', text: 'y', attrs: {...}, on: {...}}, children) */
	function el(tag, props, children) {
		var node = document.createElement(tag), k;
		props = props || {};
		if (props.className) node.className = props.className;
		if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
		if (props.title) node.title = String(props.title);
		if (props.attrs) for (k in props.attrs) node.setAttribute(k, String(props.attrs[k]));
		if (props.on) for (k in props.on) node.addEventListener(k, props.on[k]);
		(children || []).forEach(function (c) {
			if (c === null || c === undefined) return;
			node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
		});
		return node;
	}

	function clear(node) {
		while (node.firstChild) node.removeChild(node.firstChild);
	}

	function plural(n, one, many) { return n + ' ' + (n === 1 ? one : (many || one + 's')); }

	function fmtInt(n) {
		return typeof n === 'number' ? n.toLocaleString('en-US') : '\u2013';
	}

	function fmtDuration(s) {
		if (typeof s !== 'number' || !isFinite(s) || s < 0) return '\u2013';
		if (s < 10) return s.toFixed(2) + ' s';
		if (s < 60) return s.toFixed(1) + ' s';
		var m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
		if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
		if (h < 24) return h + ' h ' + (m % 60) + ' min';
		return d + ' d ' + (h % 24) + ' h';
	}

	function fmtClock(date) {
		function two(n) { return (n < 10 ? '0' : '') + n; }
		return two(date.getHours()) + ':' + two(date.getMinutes()) + ':' + two(date.getSeconds());
	}

	/* A server timestamp ("2026-11-25T18:40:12.123456Z") in local time:
	 * "18:40:12" today, "2026-11-25 18:40" before. */
	function fmtStamp(s) {
		if (typeof s !== 'string') return '';
		var d = new Date(s);
		if (isNaN(d.getTime())) return s.replace(/\.\d+Z?$/, '');
		var now = new Date();
		if (d.toDateString() === now.toDateString()) return fmtClock(d);
		function two(n) { return (n < 10 ? '0' : '') + n; }
		return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
			two(d.getHours()) + ':' + two(d.getMinutes());
	}

	function truncate(s, n) {
		s = String(s);
		return s.length > n ? s.slice(0, n - 1) + '\u2026' : s;
	}

	function isHttpUrl(s) {
		return typeof s === 'string' && /^https?:\/\/[^\s]+$/i.test(s);
	}

	/* ---- requests and the connection state --------------------------------- */

	/* fromCentral: the answer carried central's JSON {"error": ...} (as
	 * opposed to a proxy's page or nginx's own answer). */
	function HttpError(status, message, fromCentral) {
		this.status = status;
		this.message = message;
		this.fromCentral = !!fromCentral;
	}

	/* The banner for a failure: a title and the cause, in words. */
	function describe(err) {
		var msg = err && err.message ? String(err.message) : 'error';
		if (err instanceof HttpError && err.fromCentral && err.status === 503 &&
			/^the database is unavailable/i.test(msg)) {
			return { kind: 'database', title: 'The database is unavailable \u2014 retrying\u2026',
				cause: msg.charAt(0).toUpperCase() + msg.slice(1) };
		}
		if (err instanceof HttpError && err.fromCentral && err.status >= 500) {
			return { kind: 'server', title: 'The central server answers with an error \u2014 retrying\u2026',
				cause: 'HTTP ' + err.status + ': ' + msg };
		}
		return { kind: 'disconnected', title: 'Disconnected from the central server \u2014 retrying\u2026',
			cause: err instanceof HttpError ? 'HTTP ' + err.status + ': ' + msg : msg };
	}

	/* A failure that means central is not answering (as opposed to central
	 * answering with an error): no answer, a timeout, or nginx saying the
	 * pool is gone (502/503/504). */
	function isDisconnect(err) {
		return !(err instanceof HttpError) || err.status === 502 ||
			err.status === 503 || err.status === 504;
	}

	/* request(method, path, {body, type, accept}) -> Promise of the parsed
	 * JSON (or text when accept is 'text'); rejects with HttpError for a
	 * non-2xx answer, Error for no answer or a timeout. */
	function request(method, path, opts) {
		opts = opts || {};
		var ctl = typeof AbortController === 'function' ? new AbortController() : null;
		var timer = ctl ? setTimeout(function () { ctl.abort(); }, opts.timeout || TIMEOUT_MS) : null;
		var init = {
			method: method,
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Accept': opts.accept === 'text' ? 'text/plain' : 'application/json' },
			signal: ctl ? ctl.signal : undefined
		};
		if (opts.body !== undefined) {
			init.body = opts.body;
			init.headers['Content-Type'] = opts.type || 'application/json';
		}
		return fetch(PREFIX + path, init).then(function (resp) {
			return resp.text().then(function (text) {
				if (!resp.ok) {
					var msg = resp.status + ' ' + (resp.statusText || 'error'), own = false;
					try {
						var j = JSON.parse(text);
						if (j && typeof j.error === 'string') { msg = j.error; own = true; }
					} catch (e) { /* not JSON (a proxy's page): keep the status line */ }
					/* nginx's own answer when the pool is gone */
					if (resp.status === 502 || resp.status === 504) own = false;
					throw new HttpError(resp.status, msg, own);
				}
				var body;
				if (opts.accept === 'text') {
					body = text;
				} else {
					try {
						body = text ? JSON.parse(text) : null;
					} catch (e) {
						throw new HttpError(resp.status, 'the answer to ' + path + ' is not JSON', false);
					}
				}
				return opts.headers ? { body: body, headers: resp.headers } : body;
			});
		}, function (err) {
			throw new Error(err && err.name === 'AbortError' ?
				'no answer within ' + (opts.timeout || TIMEOUT_MS) / 1000 + ' s' :
				'no connection (' + (err && err.message ? err.message : 'network error') + ')');
		}).then(function (v) {
			if (timer) clearTimeout(timer);
			conn.up();
			return v;
		}, function (err) {
			if (timer) clearTimeout(timer);
			if (isDisconnect(err)) conn.down(err);
			else conn.up();
			throw err;
		});
	}

	var pollers = [];

	var conn = {
		ok: null,          /* null: not known yet */
		since: null,
		failures: 0,
		lastOk: null,
		up: function () {
			this.lastOk = new Date();
			this.failures = 0;
			if (this.ok === true) return;
			var wasDown = this.ok === false;
			this.ok = true;
			this.since = null;
			$('banner').hidden = true;
			$('banner').removeAttribute('data-kind');
			document.body.classList.remove('disconnected');
			if (wasDown) pollers.forEach(function (p) { p.kick(); });
			renderConn();
		},
		down: function (err) {
			this.failures++;
			if (this.ok !== false) {
				this.ok = false;
				this.since = new Date();
			}
			showBanner(describe(err), this.since, this.failures);
			document.body.classList.add('disconnected');
			renderConn();
		},
		/* central answered, but with its own failure (500): said in the
		 * banner until the next good answer; the other panels go on */
		error: function (err) {
			showBanner(describe(err), new Date(), 0);
		}
	};

	function showBanner(d, since, attempt) {
		$('banner_title').textContent = d.title;
		$('banner_detail').textContent = d.cause + ' (since ' + fmtClock(since) +
			(attempt ? '; attempt ' + attempt + ', retrying every ' + RETRY_MS / 1000 + ' s' : '') + ').';
		$('banner').setAttribute('data-kind', d.kind);
		$('banner').hidden = false;
	}

	function renderConn() {
		var box = $('conn');
		if (conn.ok === false) {
			box.setAttribute('data-state', 'down');
			$('conn_text').textContent = $('banner').getAttribute('data-kind') === 'database' ?
				'database unavailable' : 'disconnected';
		} else if (conn.ok) {
			box.setAttribute('data-state', 'up');
			$('conn_text').textContent = 'live \u00b7 ' + fmtClock(conn.lastOk);
		}
	}

	/* poller(fn, interval): runs fn (which returns a Promise) now and then
	 * interval ms after each run ends. While central is down only the
	 * status poller runs (as the probe); the others wait and are kicked
	 * when it answers again. */
	function poller(name, fn, interval, probe) {
		var p = { name: name, timer: null, busy: false, again: false };
		function schedule(ms) {
			clearTimeout(p.timer);
			p.timer = setTimeout(run, ms);
		}
		function run() {
			if (p.busy) { p.again = true; return; }
			if (conn.ok === false && !probe) { schedule(RETRY_MS); return; }
			p.busy = true;
			var done = function () {
				p.busy = false;
				if (p.again) { p.again = false; schedule(0); return; }
				var ms = typeof interval === 'function' ? interval() : interval;
				if (document.hidden) ms = Math.max(ms, HIDDEN_MS);
				else if (conn.ok === false) ms = RETRY_MS;
				schedule(ms);
			};
			var r;
			try { r = fn(); } catch (e) { r = Promise.reject(e); }
			Promise.resolve(r).then(done, function (err) {
				if (window.console && !isDisconnect(err)) console.warn(name + ': ' + err.message);
				done();
			});
		}
		p.kick = function () { schedule(0); };
		p.stop = function () { clearTimeout(p.timer); };
		pollers.push(p);
		return p;
	}

	/* ---- counts and graphs ------------------------------------------------ */

	var history = { t: [], units: [], jobs: [], nodes: [], workers: [] };
	var SERIES = [
		{ key: 'units', label: 'Work units in queue', color: '#2f6fde' },
		{ key: 'jobs', label: 'Jobs in queue', color: '#8a4fd8' },
		{ key: 'nodes', label: 'Nodes', color: '#159a6c' },
		{ key: 'workers', label: 'Workers', color: '#e08a12' }
	];
	var charts = [];

	function setCount(id, value) {
		var node = $(id), text = fmtInt(value);
		node.setAttribute('data-value', String(value));
		if (node.textContent === text) return;
		node.textContent = text;
		node.parentNode.classList.remove('changed');
		void node.parentNode.offsetWidth;   /* restart the flash animation */
		node.parentNode.classList.add('changed');
	}

	function record(point) {
		history.t.push(Date.now() / 1000);
		SERIES.forEach(function (s) { history[s.key].push(point ? point[s.key] : null); });
		if (history.t.length > HISTORY) {
			history.t.shift();
			SERIES.forEach(function (s) { history[s.key].shift(); });
		}
		drawCharts();
	}

	function hexA(hex, a) {
		var n = parseInt(hex.slice(1), 16);
		return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
	}

	function chartWidth(box) {
		return Math.max(160, Math.floor(box.getBoundingClientRect().width) - 2);
	}

	function initCharts() {
		var graphs = $('graphs');
		SERIES.forEach(function (s) {
			var value = el('span', { className: 'graph-value', text: '\u2013' });
			var plot = el('div', { className: 'graph-plot' });
			var card = el('figure', { className: 'graph', attrs: { 'data-series': s.key } }, [
				el('figcaption', {}, [el('span', { className: 'swatch', attrs: { style: 'background:' + s.color } }),
					el('span', { text: s.label }), value]),
				plot
			]);
			graphs.appendChild(card);
			var chart = { s: s, value: value, plot: plot, u: null };
			if (typeof window.uPlot === 'function') {
				chart.u = new window.uPlot({
					width: chartWidth(plot),
					height: 120,
					legend: { show: false },
					cursor: { points: { size: 6 }, drag: { x: false, y: false } },
					scales: {
						/* at least the last minute, ending now: an empty
						 * chart (first load) gets a real time axis */
						x: { time: true, range: function (u, min, max) {
							var now = Date.now() / 1000;
							if (min === null || max === null || !isFinite(min) || !isFinite(max))
								return [now - 60, now];
							return max - min < 60 ? [max - 60, max] : [min, max];
						} },
						y: { range: function (u, min, max) { return [0, max > 0 ? Math.ceil(max * 1.15) : 4]; } }
					},
					axes: [
						{ stroke: '#6b7385', grid: { stroke: '#eef0f4', width: 1 }, ticks: { show: false }, size: 26,
							space: 72, font: '11px system-ui, sans-serif',
							values: function (u, vals) {
								return vals.map(function (v) { return fmtClock(new Date(v * 1000)); });
							} },
						{ stroke: '#6b7385', grid: { stroke: '#eef0f4', width: 1 }, ticks: { show: false }, size: 42,
							font: '11px system-ui, sans-serif',
							incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
							values: function (u, vals) { return vals.map(function (v) { return fmtInt(v); }); } }
					],
					series: [
						{},
						{ label: s.label, stroke: s.color, width: 2, fill: hexA(s.color, 0.12),
							points: { show: false }, spanGaps: false }
					]
				}, [[], []], plot);
			} else {
				plot.appendChild(el('p', { className: 'empty', text: 'graphs need static/vendor/uplot' }));
			}
			charts.push(chart);
		});
		window.CROWD_CHARTS = charts.map(function (c) { return c.u; });   /* for the tests */
		if (typeof ResizeObserver === 'function') {
			new ResizeObserver(function () {
				charts.forEach(function (c) {
					if (c.u) c.u.setSize({ width: chartWidth(c.plot), height: 120 });
				});
			}).observe(graphs);
		}
	}

	function drawCharts() {
		charts.forEach(function (c) {
			var data = history[c.s.key], last = data[data.length - 1];
			c.value.textContent = last === null || last === undefined ? '\u2013' : fmtInt(last);
			if (c.u) c.u.setData([history.t, data]);
		});
		var n = history.t.length;
		if (n > 1) $('graphs_span').textContent = 'last ' + fmtDuration(history.t[n - 1] - history.t[0]).replace(/\.\d+ s$/, ' s');
	}

	/* ---- nodes and workers -------------------------------------------------- */

	var nodesJson = '';
	var lastCounts = null;
	var nodesData = [];
	var selectedWorker = null;   /* "PID@HOST:PORT" */

	function workerCount(nodes) {
		return nodes.reduce(function (n, node) {
			return n + (Array.isArray(node.workers) ? node.workers.length : 0);
		}, 0);
	}

	function renderNodes() {
		var box = $('nodes');
		var filter = $('node_filter').value.trim().toLowerCase();
		var shown = nodesData.filter(function (n) {
			return !filter || String(n.host).toLowerCase().indexOf(filter) >= 0 ||
				(n.tag && String(n.tag).toLowerCase().indexOf(filter) >= 0);
		});
		clear(box);
		if (!nodesData.length) {
			box.appendChild(el('p', { className: 'empty', text: 'No node has checked in. Start one with crowd-node -c CONFIG.' }));
			return;
		}
		if (!shown.length) {
			box.appendChild(el('p', { className: 'empty', text: 'No node matches \u201c' + filter + '\u201d.' }));
			return;
		}
		var frag = document.createDocumentFragment();
		shown.forEach(function (n) {
			var workers = Array.isArray(n.workers) ? n.workers : [];
			var chips = workers.map(function (pid) {
				if (pid === null || pid === undefined) {
					return el('span', { className: 'worker pending', text: 'starting@' + n.host,
						title: 'a unit is being handed to this node' });
				}
				var name = pid + '@' + n.host;
				return el('button', {
					className: 'worker' + (name === selectedWorker ? ' selected' : ''),
					text: name,
					title: 'show the unit worker ' + name + ' runs',
					attrs: { type: 'button', 'data-worker': name },
					on: { click: function () { showWorker(name); } }
				});
			});
			var busy = n.status === 'busy';
			/* max_workers: when central reports it (an addition to /status) */
			var cap = typeof n.max_workers === 'number' ? workers.length + '/' + n.max_workers :
				String(workers.length);
			frag.appendChild(el('article', { className: 'node ' + (busy ? 'busy' : 'available'),
				attrs: { 'data-host': n.host, 'data-status': n.status } }, [
				el('header', {}, [
					el('span', { className: 'host', text: n.host }),
					n.tag ? el('span', { className: 'tag', text: n.tag, title: 'tag' }) : null,
					el('span', { className: 'cap', text: cap, title: typeof n.max_workers === 'number' ?
						'workers running / max_workers' : 'workers running' }),
					el('span', { className: 'state', text: busy ? 'busy' : 'available' })
				]),
				el('div', { className: 'workers' }, chips.length ? chips :
					[el('span', { className: 'idle', text: 'idle' })])
			]));
		});
		box.appendChild(frag);
	}

	function pollStatus() {
		return request('GET', '/status').then(function (st) {
			if ($('banner').getAttribute('data-kind') === 'server') {   /* answered well again */
				$('banner').hidden = true;
				$('banner').removeAttribute('data-kind');
			}
			var nodes = Array.isArray(st.nodes) ? st.nodes.slice() : [];
			nodes.sort(function (a, b) {
				return String(a.host).localeCompare(String(b.host), 'en', { numeric: true });
			});
			var workers = workerCount(nodes);
			if (lastCounts !== null && lastCounts !== st.job_count + '/' + st.work_unit_count) {
				/* the queue moved: show it in the job list and the log now */
				jobsPoller.kick();
				logPoller.kick();
			}
			lastCounts = st.job_count + '/' + st.work_unit_count;
			var busy = nodes.filter(function (n) { return n.status === 'busy'; }).length;
			setCount('job_count', st.job_count);
			setCount('work_unit_count', st.work_unit_count);
			setCount('node_count', nodes.length);
			setCount('worker_count', workers);
			$('nodes_summary').textContent = plural(nodes.length, 'node') + ', ' + busy + ' busy, ' +
				plural(workers, 'worker');
			record({ units: st.work_unit_count, jobs: st.job_count, nodes: nodes.length, workers: workers });
			var json = JSON.stringify(nodes);
			if (json !== nodesJson) {
				nodesJson = json;
				nodesData = nodes;
				renderNodes();
			}
		}, function (err) {
			if (isDisconnect(err)) record(null);   /* a gap in the graphs */
			else if (err instanceof HttpError && err.status >= 500) conn.error(err);
			throw err;
		});
	}

	/* ---- the worker inspector ------------------------------------------------- */

	var workerPoller;
	var workerLast = null;

	function showWorker(name) {
		selectedWorker = name;
		workerLast = null;
		Array.prototype.forEach.call(document.querySelectorAll('#nodes .worker'), function (b) {
			b.classList.toggle('selected', b.getAttribute('data-worker') === name);
		});
		renderWorker(null, 'loading');
		workerPoller.kick();
	}

	function closeWorker() {
		selectedWorker = null;
		workerLast = null;
		$('worker').hidden = true;
		Array.prototype.forEach.call(document.querySelectorAll('#nodes .worker.selected'), function (b) {
			b.classList.remove('selected');
		});
	}

	function field(label, value, cls) {
		return [el('dt', { text: label }), el('dd', { className: cls || '', text: value })];
	}

	/* state: 'loading', 'running', 'gone' (404), 'error' */
	function renderWorker(unit, state, message) {
		var box = $('worker');
		clear(box);
		box.hidden = false;
		box.setAttribute('data-state', state);
		var head = el('div', { className: 'inspector-head' }, [
			el('h3', {}, ['Worker ', el('code', { text: selectedWorker })]),
			el('button', { className: 'close', text: '\u00d7', title: 'close',
				attrs: { type: 'button', 'aria-label': 'Close the worker view' }, on: { click: closeWorker } })
		]);
		box.appendChild(head);
		if (state === 'loading') {
			box.appendChild(el('p', { className: 'muted', text: 'asking central\u2026' }));
			return;
		}
		if (state === 'gone' || state === 'error') {
			box.appendChild(el('p', { className: 'note', text: message }));
		}
		if (!unit) return;
		var dl = el('dl', { className: state === 'gone' ? 'stale' : '' });
		[].concat(
			field('Action', unit.action, 'action'),
			field('Stage', unit.stage, 'stage'),
			field('Job', '#' + unit.job_id, 'job'),
			field('Unit', '#' + unit.id, 'unit'),
			field('Attempts', String(unit.attempts), 'attempts'),
			field('Status', unit.status, 'unit-status'),
			field('Running for', fmtDuration(unit.running_for), 'running-for'),
			field('Input', truncate(unit.input, 400), 'input')
		).forEach(function (n) { dl.appendChild(n); });
		box.appendChild(dl);
	}

	function pollWorker() {
		if (!selectedWorker) return null;
		var name = selectedWorker;
		return request('GET', '/worker/' + encodeURIComponent(name)).then(function (unit) {
			if (name !== selectedWorker) return;
			workerLast = unit;
			renderWorker(unit, 'running');
		}, function (err) {
			if (name !== selectedWorker) return;
			if (err instanceof HttpError && err.status === 404) {
				renderWorker(workerLast, 'gone', workerLast ?
					'This worker has finished its unit (or the unit was released).' :
					'This worker runs no unit any more: it finished before we asked.');
			} else if (!isDisconnect(err)) {
				renderWorker(workerLast, 'error', err.message);
			}
			throw err;
		});
	}

	/* ---- jobs ------------------------------------------------------------- */

	var jobsPage = 1;
	var jobsPages = 1;
	var freshJob = null;     /* id of the job the form just created */

	function statusBadge(status) {
		return el('span', { className: 'status s-' + String(status).replace(/[^a-z]/g, ''), text: status });
	}

	function progressCell(job) {
		var pct = Math.max(0, Math.min(100, Number(job.percent_complete) || 0));
		var bar = el('div', { className: 'bar' });
		bar.style.width = pct + '%';
		if (/^[0-9a-fA-F]{6}$/.test(job.color || '')) bar.style.backgroundColor = '#' + job.color;
		return el('td', { className: 'progress-col' }, [el('div', { className: 'progress-cell' }, [
			el('div', { className: 'progress', attrs: { role: 'progressbar', 'aria-valuemin': 0,
				'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-label': 'job ' + job.id + ' progress' } }, [bar]),
			el('span', { className: 'pct', text: pct + ' %' })
		])]);
	}

	function outputItem(out) {
		if (isHttpUrl(out)) {
			var tail = out.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() || out;
			var a = el('a', { text: truncate(decodeSafe(tail), 32), title: out,
				attrs: { target: '_blank', rel: 'noopener noreferrer' } });
			a.href = out;
			return a;
		}
		if (typeof out === 'string' && /^file:\/\/\/\S+$/.test(out)) {
			/* browsers will not follow a file:// link from an http page:
			 * show the file's name, the whole URL on hover */
			return el('code', { className: 'file', text: truncate(decodeSafe(out.split('/').pop()), 32),
				title: out });
		}
		var text = typeof out === 'string' ? out : JSON.stringify(out);
		return el('code', { text: truncate(text, 32), title: truncate(text, 2000) });
	}

	function decodeSafe(s) {
		try { return decodeURIComponent(s); } catch (e) { return s; }
	}

	function outputsCell(job) {
		var td = el('td', { className: 'outputs' });
		if (!Array.isArray(job.outputs)) {
			td.appendChild(el('span', { className: 'muted', text: '\u2013' }));
			return td;
		}
		if (!job.outputs.length) {
			td.appendChild(el('span', { className: 'muted', text: 'none' }));
			return td;
		}
		job.outputs.slice(0, 2).forEach(function (o) { td.appendChild(outputItem(o)); });
		if (job.outputs.length > 2) {
			var more = el('a', { className: 'more', text: '+' + (job.outputs.length - 2) + ' more',
				title: 'the whole job JSON', attrs: { target: '_blank', rel: 'noopener' } });
			more.href = PREFIX + '/jobs/' + encodeURIComponent(job.id);
			td.appendChild(more);
		}
		return td;
	}

	function jobRow(job) {
		var swatch = el('span', { className: 'swatch', title: 'job colour #' + job.color });
		if (/^[0-9a-fA-F]{6}$/.test(job.color || '')) swatch.style.backgroundColor = '#' + job.color;
		var link = el('a', { text: '#' + job.id, title: 'job JSON', attrs: { target: '_blank', rel: 'noopener' } });
		link.href = PREFIX + '/jobs/' + encodeURIComponent(job.id);
		return el('tr', {
			className: 'job st-' + String(job.status).replace(/[^a-z]/g, '') + (job.id === freshJob ? ' fresh' : ''),
			attrs: { 'data-job-id': job.id, 'data-status': job.status, 'data-percent': job.percent_complete }
		}, [
			el('td', { className: 'id' }, [swatch, link]),
			el('td', { className: 'action', text: job.action || '' }),
			el('td', {}, [statusBadge(job.status)]),
			progressCell(job),
			el('td', { className: 'num', text: fmtInt(job.work_units) }),
			el('td', { className: 'num', text: fmtDuration(job.time_taken) }),
			el('td', { className: 'created', text: fmtStamp(job.created_at) }),
			outputsCell(job)
		]);
	}

	var jobsJson = '';

	function pollJobs() {
		var page = jobsPage;
		return request('GET', '/jobs?page=' + page + '&per_page=' + PER_PAGE).then(function (r) {
			if (page !== jobsPage) return;
			var jobs = Array.isArray(r.jobs) ? r.jobs : [];
			var total = Number(r.total) || 0;
			jobsPages = Math.max(1, Math.ceil(total / PER_PAGE));
			if (!jobs.length && page > 1 && page > jobsPages) {   /* jobs went away */
				jobsPage = jobsPages;
				jobsPoller.kick();
				return;
			}
			$('jobs_summary').textContent = plural(total, 'job') + ' in the database';
			$('jobs_page').textContent = 'page ' + page + ' of ' + jobsPages;
			$('jobs_prev').disabled = page <= 1;
			$('jobs_next').disabled = page >= jobsPages;
			$('jobs_empty').hidden = total > 0;
			var json = JSON.stringify(jobs) + '|' + freshJob;
			if (json === jobsJson) return;
			jobsJson = json;
			var tbody = $('jobs').tBodies[0], frag = document.createDocumentFragment();
			jobs.forEach(function (j) { frag.appendChild(jobRow(j)); });
			clear(tbody);
			tbody.appendChild(frag);
		});
	}

	function gotoPage(p) {
		jobsPage = Math.max(1, Math.min(p, jobsPages));
		jobsJson = '';
		jobsPoller.kick();
	}

	/* ---- the new-job form --------------------------------------------------- */

	var actionsJson = '';

	function pollActions() {
		return request('GET', '/actions').then(function (list) {
			list = Array.isArray(list) ? list : [];
			var json = JSON.stringify(list);
			if (json === actionsJson) return;
			actionsJson = json;
			var select = $('job_action'), keep = select.value, names = $('action_names');
			clear(select);
			clear(names);
			select.appendChild(el('option', { text: list.length ? 'choose an action\u2026' : 'no action installed',
				attrs: { value: '' } }));
			list.forEach(function (a) {
				var stages = [a.split ? 'split' : null, 'process', a.merge ? 'merge' : null]
					.filter(Boolean).join(' \u2192 ');
				select.appendChild(el('option', { text: a.name + '  (' + stages + ')', attrs: { value: a.name } }));
				names.appendChild(el('option', { attrs: { value: a.name } }));
			});
			if (keep) select.value = keep;
		});
	}

	function parseInputs(text) {
		var t = text.trim();
		if (!t) throw new Error('add at least one input');
		if (t.charAt(0) === '[') {
			var arr;
			try { arr = JSON.parse(t); } catch (e) { throw new Error('inputs: not a valid JSON array (' + e.message + ')'); }
			if (!Array.isArray(arr) || !arr.length) throw new Error('inputs: the JSON array is empty');
			return arr;
		}
		return t.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(function (l) { return l.length; });
	}

	function parseOptions(text) {
		var t = text.trim();
		if (!t) return {};
		var o;
		try { o = JSON.parse(t); } catch (e) { throw new Error('options: not valid JSON (' + e.message + ')'); }
		if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('options must be a JSON object');
		return o;
	}

	function say(id, text, kind) {
		var node = $(id);
		node.textContent = text;
		node.className = kind || '';
	}

	function submitJob(ev) {
		ev.preventDefault();
		var action = $('job_action').value, inputs, options;
		try {
			if (!action) throw new Error('choose an action');
			inputs = parseInputs($('job_inputs').value);
			options = parseOptions($('job_options').value);
		} catch (e) {
			say('job_result', e.message, 'error');
			return;
		}
		var button = $('job_submit');
		button.disabled = true;
		say('job_result', 'creating\u2026', 'muted');
		request('POST', '/jobs', { body: JSON.stringify({ action: action, inputs: inputs, options: options }), timeout: 15000 })
			.then(function (job) {
				freshJob = job.id;
				say('job_result', 'Created job #' + job.id + ' (' + plural(inputs.length, 'input') + ', ' + job.status + ').', 'ok');
				$('job_result').setAttribute('data-job-id', job.id);
				gotoPage(1);
			}, function (err) {
				say('job_result', 'Not created: ' + err.message, 'error');
			})
			.then(function () { button.disabled = false; });
	}

	/* ---- blacklist ------------------------------------------------------------ */

	var blacklistJson = '';

	function pollBlacklist() {
		return request('GET', '/blacklist').then(function (list) {
			list = Array.isArray(list) ? list : [];
			var json = JSON.stringify(list);
			if (json === blacklistJson) return;
			blacklistJson = json;
			var tbody = $('blacklist').tBodies[0];
			clear(tbody);
			list.forEach(function (b) {
				tbody.appendChild(el('tr', { attrs: { 'data-action': b.action } }, [
					el('td', {}, [el('code', { text: b.action })]),
					el('td', { className: 'muted', text: fmtStamp(b.created_at) +
						(b.until && !isNaN(new Date(b.until).getTime()) ?
							' \u00b7 until ' + fmtClock(new Date(b.until)) : '') }),
					el('td', { className: 'right' }, [el('button', {
						className: 'remove', text: 'Remove',
						attrs: { type: 'button', 'data-action': b.action, 'aria-label': 'Remove ' + b.action + ' from the blacklist' },
						on: { click: function (ev) { removeBlacklisted(b.action, ev.currentTarget); } }
					})])
				]));
			});
			$('blacklist').hidden = !list.length;
			$('blacklist_empty').hidden = list.length > 0;
		});
	}

	function addBlacklisted(ev) {
		ev.preventDefault();
		var name = $('blacklist_action').value.trim();
		if (!/^[a-z0-9_]+$/.test(name)) {
			say('blacklist_result', 'action names are [a-z0-9_]+', 'error');
			return;
		}
		$('blacklist_add').disabled = true;
		request('POST', '/blacklist', { body: 'action=' + encodeURIComponent(name),
			type: 'application/x-www-form-urlencoded' })
			.then(function () {
				say('blacklist_result', name + ' blacklisted', 'ok');
				$('blacklist_action').value = '';
				blacklistJson = '';
				blacklistPoller.kick();
			}, function (err) { say('blacklist_result', err.message, 'error'); })
			.then(function () { $('blacklist_add').disabled = false; });
	}

	function removeBlacklisted(name, button) {
		button.disabled = true;
		request('DELETE', '/blacklist/' + encodeURIComponent(name))
			.then(function () {
				say('blacklist_result', name + ' removed: its units go out again', 'ok');
			}, function (err) {
				say('blacklist_result', err.message, 'error');
				button.disabled = false;
			})
			.then(function () { blacklistJson = ''; blacklistPoller.kick(); });
	}

	/* ---- the server log ----------------------------------------------------- */

	var logText = null;

	function pollLog() {
		return request('GET', '/log', { accept: 'text', headers: true }).then(function (r) {
			var text = r.body, host = r.headers.get('X-CloudCrowd-Host');
			/* several central hosts may answer in turn: say whose log it is */
			$('log_host').textContent = host ? 'log of ' + host + ' \u00b7 last 100 lines' : 'last 100 lines';
			if (host) $('log_host').setAttribute('data-host', host);
			if (text === logText) return;
			logText = text;
			var pre = $('log');
			var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
			var frag = document.createDocumentFragment();
			text.split('\n').forEach(function (line, i, all) {
				if (i === all.length - 1 && line === '') return;
				var cls = /\b(error|fatal|crit)\b/i.test(line) ? 'l-error' :
					/\bwarn(ing)?\b/i.test(line) ? 'l-warn' : '';
				frag.appendChild(el('span', { className: cls, text: line + '\n' }));
			});
			clear(pre);
			if (!text) pre.appendChild(el('span', { className: 'muted', text: 'the log is empty' }));
			pre.appendChild(frag);
			if ($('log_follow').checked || atBottom) pre.scrollTop = pre.scrollHeight;
		});
	}

	/* ---- start -------------------------------------------------------------- */

	var jobsPoller, blacklistPoller, logPoller;

	function start() {
		initCharts();
		poller('status', pollStatus, STATUS_MS, true).kick();
		jobsPoller = poller('jobs', pollJobs, JOBS_MS);
		blacklistPoller = poller('blacklist', pollBlacklist, BLACKLIST_MS);
		workerPoller = poller('worker', pollWorker, WORKER_MS);
		poller('actions', pollActions, ACTIONS_MS).kick();
		logPoller = poller('log', pollLog, LOG_MS);
		logPoller.kick();
		jobsPoller.kick();
		blacklistPoller.kick();

		$('job_form').addEventListener('submit', submitJob);
		$('blacklist_form').addEventListener('submit', addBlacklisted);
		$('jobs_prev').addEventListener('click', function () { gotoPage(jobsPage - 1); });
		$('jobs_next').addEventListener('click', function () { gotoPage(jobsPage + 1); });
		$('node_filter').addEventListener('input', renderNodes);
		document.addEventListener('visibilitychange', function () {
			if (!document.hidden) pollers.forEach(function (p) { p.kick(); });
		});
		setInterval(renderConn, 1000);
	}

	start();
}());
