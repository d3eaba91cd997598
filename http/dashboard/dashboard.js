// Pytheas dashboard: polls the node's JSON endpoints once a second and
// renders them. The server is stateless: rates and score histories are
// computed and kept here, in the page (lost on reload).
'use strict';
(() => {
  const POLL_MS = 1000;
  const CLUSTER_EVERY = 5;  // polls between two /v1/cluster requests
  const HISTORY = 120;      // points kept per series (2 minutes at 1 Hz)
  const SVG = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#2f6fde', '#1f9d55', '#d48806', '#9b51e0', '#d64545', '#0fa3b1',
                   '#c2185b', '#5d6d7e', '#7cb342', '#8d6e63'];

  const state = {
    token: sessionStorage.getItem('pytheas-admin-token') || '',
    previous: null,       // last /v1/stats body, for rates
    reportRates: [],      // reports applied per second, oldest first
    rateTimes: [],        // the node's time of each of those points
    scores: new Map(),    // group key -> expected scores, oldest first
    polls: 0,
    colors: new Map(),    // decision name -> colour
  };

  const $ = (id) => document.getElementById(id);

  // Builds an element; children are nodes or strings (strings become text,
  // never HTML: group keys and decision names come from clients).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children)
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  async function getJson(path) {
    const headers = state.token ? {Authorization: 'Bearer ' + state.token} : {};
    const response = await fetch(path, {headers, cache: 'no-store'});
    if (!response.ok) {
      const error = new Error(path + ': HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function formatCount(n) {
    if (n === null || n === undefined) return '–';
    if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
    if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(Math.round(n));
  }

  function formatRate(r) {
    if (r === null || r === undefined || !isFinite(r)) return '–';
    return r >= 100 ? formatCount(r) : r.toFixed(1);
  }

  function formatSeconds(s) {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 1 : 0) + ' ms';
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(0) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }

  function formatScore(x) {
    if (x === null || x === undefined || !isFinite(x)) return '–';
    return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
  }

  // The same decision gets the same colour in every group (and keeps it while
  // the page is open): colours go out in the order decisions are first seen.
  function colorOf(name) {
    if (!state.colors.has(name)) state.colors.set(name, PALETTE[state.colors.size % PALETTE.length]);
    return state.colors.get(name);
  }

  function push(series, value) {
    series.push(value);
    if (series.length > HISTORY) series.splice(0, series.length - HISTORY);
  }

  function setStatus(kind, text) {
    const pill = $('status');
    pill.className = 'pill pill-' + kind;
    pill.textContent = text;
  }

  function showError(text) {
    const box = $('error');
    box.hidden = !text;
    box.textContent = text || '';
  }

  // --- rendering ---------------------------------------------------------

  function renderCards(stats, previous) {
    const dt = previous ? stats.now - previous.now : 0;
    const rate = (field) => (dt > 0 ? Math.max(0, stats[field] - previous[field]) / dt : null);
    const reportRate = rate('reports_applied');
    if (reportRate !== null) {
      push(state.reportRates, reportRate);
      push(state.rateTimes, stats.now);
    }

    $('active-groups').textContent = formatCount(stats.active_groups);
    $('groups-sub').textContent = stats.group_count + ' listed by the node';
    $('decisions-rate').textContent = formatRate(rate('decisions'));
    $('decisions-total').textContent = formatCount(stats.decisions);
    $('reports-rate').textContent = formatRate(reportRate);
    $('reports-total').textContent = formatCount(stats.reports_applied);
    $('reports-rejected').textContent = formatCount(stats.reports_rejected);
    const f = stats.freshness;
    $('freshness').textContent = f.count > 0 ? formatSeconds(f.p50_s) : '–';
    $('freshness-p99').textContent = f.count > 0 ? formatSeconds(f.p99_s) : '';
    $('queue').textContent = formatCount(stats.queue_depth);
    $('queue-sub').textContent = 'of ' + formatCount(stats.queue_capacity) + ' (503 beyond)';
    $('restarts').textContent = formatCount(stats.restarts);
    $('lost-sub').textContent = formatCount(stats.passivations) + ' passivated · ' +
                                formatCount(stats.reports_lost) + ' lost';
  }

  // x positions for n points spread over `width` (a short history fills the
  // width rather than hugging the right edge).
  function xs(n, width) {
    const step = n > 1 ? width / (n - 1) : 0;
    return Array.from({length: n}, (_, i) => i * step);
  }

  function renderRateChart() {
    const chart = $('rate-chart');
    // The viewBox follows the element's size: nothing (text included) is stretched.
    const width = Math.max(200, Math.round(chart.getBoundingClientRect().width) || 600);
    const height = 120, top = 18, left = 0;
    chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
    chart.replaceChildren();
    const data = state.reportRates;
    const max = niceCeiling(Math.max(1, ...data));
    for (const fraction of [0, 0.5, 1]) {
      const y = top + (height - top - 1) * (1 - fraction);
      chart.append(svgEl('line', {class: 'grid-line', x1: left, x2: width, y1: y, y2: y}));
      if (fraction > 0) {
        const label = svgEl('text', {class: 'axis-label', x: 2, y: y - 4});
        label.textContent = formatRate(max * fraction) + ' /s';
        chart.append(label);
      }
    }
    const times = state.rateTimes;
    $('rate-note').textContent = data.length < 2 ? 'collecting…'
        : `last ${formatSeconds(times[times.length - 1] - times[0])}`;
    if (data.length < 2) return;
    const x = xs(data.length, width);
    const points = data.map((v, i) => [x[i], top + (height - top - 1) * (1 - v / max)]);
    const line = points.map(([px, py], i) => (i ? 'L' : 'M') + px.toFixed(1) + ' ' + py.toFixed(1)).join(' ');
    chart.append(svgEl('path', {class: 'rate-area', d: `${line} L${width} ${height} L0 ${height} Z`}));
    chart.append(svgEl('path', {class: 'rate-line', d: line}));
  }

  // 1, 2 or 5 times a power of ten, at least `x`: round axis labels.
  function niceCeiling(x) {
    const power = Math.pow(10, Math.floor(Math.log10(x)));
    for (const m of [1, 1.5, 2, 3, 4, 5, 6, 8, 10]) if (m * power >= x) return m * power;
    return 10 * power;
  }

  function sparkline(values) {
    const svg = svgEl('svg', {viewBox: '0 0 120 28', preserveAspectRatio: 'none'});
    const finite = values.filter((v) => v !== null && isFinite(v));
    if (finite.length < 2) return svg;
    let lo = Math.min(...finite), hi = Math.max(...finite);
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const x = xs(values.length, 120);
    let d = '';
    values.forEach((v, i) => {
      if (v === null || !isFinite(v)) return;
      const y = 2 + 24 * (1 - (v - lo) / (hi - lo));
      d += (d ? 'L' : 'M') + x[i].toFixed(1) + ' ' + y.toFixed(1) + ' ';
    });
    svg.append(svgEl('path', {class: 'spark', d}));
    return svg;
  }

  function sharesCell(arms) {
    const cell = el('td', {class: 'shares'});
    if (!arms.length) {
      cell.append(el('span', {class: 'muted'}, 'no snapshot yet'));
      return cell;
    }
    const sorted = [...arms].sort((a, b) => b.weight - a.weight);
    const bar = el('div', {class: 'bar'});
    const legend = el('div', {class: 'legend'});
    for (const arm of sorted) {
      const percent = Math.max(0, arm.weight) * 100;
      const title = `${arm.name}: ${percent.toFixed(1)}% of decisions · mean score ` +
                    `${formatScore(arm.mean)} over ${arm.count.toFixed(1)} reports`;
      if (percent > 0) {
        const segment = el('span', {title});
        segment.style.width = percent + '%';
        segment.style.background = colorOf(arm.name);
        bar.append(segment);
      }
      const swatch = el('span', {class: 'swatch'});
      swatch.style.background = colorOf(arm.name);
      legend.append(el('span', {class: 'item arm', title}, swatch, arm.name + ' ',
                       el('b', {}, percent.toFixed(0) + '%')));
    }
    cell.append(bar, legend);
    return cell;
  }

  function renderGroups(stats) {
    const body = $('groups');
    const seen = new Set();
    const rows = [];
    for (const group of stats.groups) {
      seen.add(group.key);
      if (!state.scores.has(group.key)) state.scores.set(group.key, []);
      const history = state.scores.get(group.key);
      push(history, group.expected_score);
      const age = group.snapshot_age_s;
      const ageClass = age === null ? '' : age < 5 ? 'age-fresh' : 'age-stale';
      rows.push(el('tr', {class: 'group', 'data-key': group.key},
                   el('td', {class: 'key'}, group.key,
                      ...(group.owner ? [el('span', {class: 'owner', title: 'a mirror: ' +
                                                 group.owner + ' owns this group and learns for it'},
                                            'owned by ' + group.owner)] : [])),
                   el('td', {class: 'policy'}, group.policy || '–'),
                   el('td', {class: 'num'}, formatCount(group.decisions)),
                   el('td', {class: 'num group-reports'}, formatCount(group.reports)),
                   sharesCell(group.arms),
                   el('td', {}, el('div', {class: 'score'}, sparkline(history),
                                   el('span', {class: 'score-value'},
                                      formatScore(group.expected_score)))),
                   el('td', {class: 'num ' + ageClass}, formatSeconds(age))));
    }
    // Forget the history of groups no longer listed, so memory stays bounded.
    for (const key of [...state.scores.keys()]) if (!seen.has(key)) state.scores.delete(key);
    if (!rows.length) rows.push(el('tr', {}, el('td', {colspan: 7, class: 'empty'}, 'no groups yet')));
    body.replaceChildren(...rows);
    $('groups-note').textContent = stats.groups.length < stats.group_count
        ? `busiest ${stats.groups.length} of ${stats.group_count} (by reports)`
        : `${stats.group_count} group${stats.group_count === 1 ? '' : 's'}`;
  }

  function renderCluster(cluster) {
    const box = $('cluster');
    if (cluster === null) {
      box.replaceChildren(el('p', {class: 'standalone', id: 'standalone'},
                             'Standalone node: all-in-one, no cluster file (see docs/CLUSTER.md).'));
      $('cluster-note').textContent = '';
      return;
    }
    const fact = (label, value) => el('span', {}, label + ' ', el('b', {}, String(value ?? '–')));
    const facts = el('div', {class: 'facts'},
                     fact('node', cluster.node), fact('role', cluster.role),
                     fact('cluster', cluster.cluster || '–'),
                     fact('table version', cluster.table_version),
                     fact('groups in table', cluster.table_groups),
                     fact('owned elsewhere', cluster.owned_elsewhere),
                     fact('mirrored', cluster.mirrored_groups),
                     fact('subscribers', cluster.subscribers));
    const rows = (cluster.members || []).map((m) => el('tr', {class: 'member'},
        el('td', {}, el('span', {class: 'dot ' + (m.healthy ? 'dot-good' : 'dot-bad')}),
           m.healthy ? 'healthy' : 'unreachable'),
        el('td', {}, m.name), el('td', {}, m.role || '–'), el('td', {}, m.cluster || '–'),
        el('td', {}, m.last_seen_ms === undefined || m.last_seen_ms === null
                         ? 'never' : formatSeconds(m.last_seen_ms / 1000) + ' ago'),
        el('td', {class: 'muted'}, m.last_error || '')));
    const table = el('table', {},
                     el('thead', {}, el('tr', {}, el('th', {}, 'Health'), el('th', {}, 'Member'),
                                         el('th', {}, 'Role'), el('th', {}, 'Cluster'),
                                         el('th', {}, 'Last seen'), el('th', {}, 'Last error'))),
                     el('tbody', {}, ...rows));
    box.replaceChildren(facts, rows.length ? table : el('p', {class: 'muted'}, 'no members'));
    const healthy = (cluster.members || []).filter((m) => m.healthy).length;
    $('cluster-note').textContent = `${healthy} of ${(cluster.members || []).length} members healthy`;
    if (cluster.node) $('node-name').textContent = `${cluster.node} · ${location.host}`;
  }

  // The grouping in force: learned rules (or the label config's fixed one).
  function renderGrouping(grouping) {
    const box = $('grouping');
    if (!grouping) {
      box.textContent = 'no grouping status';
      return;
    }
    if (grouping.mode === 'learned' && grouping.rules) {
      box.textContent = grouping.rules;
      const learned = grouping.learned_at ? new Date(grouping.learned_at * 1000).toLocaleTimeString() : '–';
      const split = (grouping.split_features || []).join(', ') || 'nothing yet';
      $('grouping-note').textContent =
          `learned: ${grouping.regroups} regroup(s), split on ${split}, last learn ${learned}` +
          ` from ${formatCount(grouping.samples)} samples; started from ${grouping.by}`;
    } else {
      box.textContent = grouping.by || '–';
      $('grouping-note').textContent = grouping.mode === 'learned'
          ? `learning (${formatCount(grouping.samples)} samples so far); until the first regroup: ${grouping.by}`
          : 'fixed by the label config';
    }
  }

  // --- polling -----------------------------------------------------------

  async function pollGrouping() {
    try {
      renderGrouping(await getJson('/v1/grouping'));
    } catch (error) {
      renderGrouping(null);
    }
  }

  async function pollCluster() {
    try {
      renderCluster(await getJson('/v1/cluster'));
    } catch (error) {
      if (error.status === 404) renderCluster(null);
      else $('cluster').replaceChildren(el('p', {class: 'muted'}, 'cluster state unavailable: ' + error.message));
    }
  }

  async function poll() {
    try {
      const stats = await getJson('/v1/stats');
      showError('');
      $('auth').hidden = true;
      renderCards(stats, state.previous);
      renderRateChart();
      renderGroups(stats);
      state.previous = stats;
      setStatus(stats.ready ? 'good' : 'wait', stats.ready ? 'ready' : 'restoring');
      $('updated').textContent = 'updated ' + new Date(stats.now * 1000).toLocaleTimeString();
      if (state.polls++ % CLUSTER_EVERY === 0) {
        await pollGrouping();
        await pollCluster();
      }
    } catch (error) {
      if (error.status === 401) {
        $('auth').hidden = false;
        setStatus('wait', 'token needed');
      } else if (error.status === 403) {
        setStatus('bad', 'forbidden');
        showError('This node shows its data to loopback clients only: open the dashboard from the ' +
                  'node\'s host (for example through ssh -L), or start the node with --admin-token.');
      } else {
        setStatus('bad', 'unreachable');
        showError('Cannot reach the node: ' + error.message);
      }
    }
  }

  $('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = $('token').value.trim();
    sessionStorage.setItem('pytheas-admin-token', state.token);
    poll();
  });

  // The next poll waits for this one, and for ten times as long as it took:
  // /v1/stats scans every group (~0.15 s at 100k groups), so on a big node
  // the page backs off rather than keep an io thread busy.
  async function loop() {
    const started = performance.now();
    await poll();
    setTimeout(loop, Math.max(POLL_MS, 10 * (performance.now() - started)));
  }

  $('node-name').textContent = location.host;
  loop();
})();
