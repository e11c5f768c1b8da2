// The tune-server dashboard: polls /api/trials about once a second, draws the trials table (stop
// buttons included), the best trial and the learning curves of the chosen metric. Every /api call
// carries the bearer token read from the URL's fragment (#token=..., never sent to the server), kept
// in sessionStorage so a reload works. Data from the API is put in the page as text, never as HTML.
"use strict";
(function () {
  const POLL_MS = 1000;
  const MAX_CURVES = 30;  // Curves drawn at once: the best trials of the chosen metric.
  const BOOKKEEPING = /^(training_iteration|iterations_since_restore|time_|timestamp|timesteps_since_restore|pid$|done$|node_ip|date|hostname|trial_id|experiment_id|episodes_this_iter|timesteps_this_iter)/;
  const PREFERRED = ["mean_accuracy", "accuracy", "val_accuracy", "episode_reward_mean", "reward", "score",
                     "val_loss", "mean_loss", "loss", "error"];
  const LOWER_IS_BETTER = /(loss|error|err$|mse|mae|rmse|regret|perplexity|cost)/i;
  const ACTIVE = new Set(["RUNNING", "PENDING", "PAUSED"]);

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, stopped: false, trials: [], metric: null, mode: "auto",
    history: new Map(),  // trial_id -> {metric, offset, points: [[x, y]], asked: iteration}
    chart: null, chartKey: "", polls: 0, errors: 0,
  };
  window.tuneDashboard = state;  // For tests and the curious: the page's state, read-only by intent.

  function readToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      const token = decodeURIComponent(match[1]);
      sessionStorage.setItem("tune-server-token", token);
      history.replaceState(null, "", location.pathname + location.search);  // Out of the address bar.
      return token;
    }
    return sessionStorage.getItem("tune-server-token");
  }

  function showMessage(text) {
    const box = $("message");
    box.textContent = text;
    box.hidden = !text;
  }

  function stopPolling(text) {
    state.stopped = true;
    $("main").hidden = true;
    showMessage(text);
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({}, options, {
      headers: {"Authorization": "Bearer " + state.token, "Accept": "application/json"},
      cache: "no-store", credentials: "omit",
    }));
    if (response.status === 401) {
      sessionStorage.removeItem("tune-server-token");
      stopPolling("The server rejected this page's token (401). Open the dashboard URL printed by the run " +
                  "(http://HOST:PORT/#token=...) or take the token from the experiment directory's .tune_server.json.");
      throw new Error("401");
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
    return body;
  }

  // --- what to show -------------------------------------------------------------------------------
  function metricValue(result, metric) {
    if (!result) return null;
    let value = result[metric];
    if (value === undefined && metric.includes("/")) {
      value = metric.split("/").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), result);
    }
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function numericKeys(trials) {
    const keys = new Set();
    for (const t of trials) {
      for (const [k, v] of Object.entries(t.last_result || {})) {
        if (typeof v === "number" && isFinite(v)) keys.add(k);
      }
    }
    return [...keys].sort();
  }

  function defaultMetric(keys) {
    for (const k of PREFERRED) if (keys.includes(k)) return k;
    return keys.find((k) => !BOOKKEEPING.test(k)) || keys[0] || null;
  }

  function mode() {
    if (state.mode !== "auto") return state.mode;
    return state.metric && LOWER_IS_BETTER.test(state.metric) ? "min" : "max";
  }

  function flatten(config, prefix, out) {
    for (const [k, v] of Object.entries(config || {})) {
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, prefix + k + "/", out);
      else out[prefix + k] = v;
    }
    return out;
  }

  function varyingKeys(flat) {
    const seen = new Map();
    for (const config of flat) {
      for (const [k, v] of Object.entries(config)) {
        if (!seen.has(k)) seen.set(k, new Set());
        seen.get(k).add(JSON.stringify(v));
      }
    }
    return [...seen.keys()].filter((k) => seen.get(k).size > 1 || flat.some((c) => !(k in c))).sort();
  }

  function ranked(trials) {
    const sign = mode() === "max" ? -1 : 1;
    return trials.filter((t) => metricValue(t.last_result, state.metric) !== null)
      .sort((a, b) => sign * (metricValue(a.last_result, state.metric) - metricValue(b.last_result, state.metric)));
  }

  function color(trialId) {  // Stable per trial: its place in the listing, on a golden-angle hue wheel.
    const index = state.trials.findIndex((t) => t.trial_id === trialId);
    return "hsl(" + Math.round((index * 137.508) % 360) + ", 65%, 45%)";
  }

  function format(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(5);
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // --- drawing --------------------------------------------------------------------------------------
  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function renderMetricChoice(keys) {
    const select = $("metric");
    const current = [...select.options].map((o) => o.value).join("\n");
    if (current !== keys.join("\n")) {
      select.replaceChildren(...keys.map((k) => new Option(k, k)));
    }
    if (!state.metric || !keys.includes(state.metric)) {
      const chosen = defaultMetric(keys);
      if (chosen !== state.metric) { state.metric = chosen; state.history.clear(); }
    }
    if (state.metric) select.value = state.metric;
  }

  function renderTable(trials, best) {
    const flat = trials.map((t) => flatten(t.config, "", {}));
    const keys = varyingKeys(flat);
    const head = ["", "trial", "status", "location", ...keys, state.metric || "metric", "iteration", ""];
    $("head").replaceChildren(...head.map((h) => { const th = document.createElement("th"); th.textContent = h; return th; }));
    const rows = trials.map((t, i) => {
      const row = document.createElement("tr");
      row.dataset.trialId = t.trial_id;
      if (best && best.trial_id === t.trial_id) row.className = "best";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      if (state.history.has(t.trial_id)) swatch.style.background = color(t.trial_id);
      cell(row, "").appendChild(swatch);
      cell(row, t.name, "name").title = t.trial_id;
      cell(row, t.status, "status " + t.status);
      cell(row, t.location || "", "location");
      for (const k of keys) cell(row, format(flat[i][k]), "config");
      cell(row, format(metricValue(t.last_result, state.metric)), "num metric");
      cell(row, format((t.last_result || {}).training_iteration), "num iteration");
      const actions = cell(row, "");
      if (ACTIVE.has(t.status)) {
        const button = document.createElement("button");
        button.className = "stop";
        button.textContent = "stop";
        button.title = "stop " + t.name;
        button.addEventListener("click", () => stopTrial(t, button));
        actions.appendChild(button);
      }
      return row;
    });
    document.querySelector("#trials tbody").replaceChildren(...rows);
  }

  function renderBest(best) {
    const box = $("best");
    if (!best) { box.textContent = state.metric ? "No trial has reported " + state.metric + " yet." : "No results yet."; return; }
    box.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = "Best trial (" + mode() + " " + state.metric + "): ";
    box.append(strong, best.name + " = " + format(metricValue(best.last_result, state.metric)) +
               " at iteration " + format((best.last_result || {}).training_iteration) +
               ", config " + JSON.stringify(best.config));
  }

  function renderSummary(trials) {
    const counts = {};
    for (const t of trials) counts[t.status] = (counts[t.status] || 0) + 1;
    $("summary").textContent = trials.length + " trials: " +
      Object.entries(counts).map(([s, n]) => n + " " + s).join(", ");
  }

  function renderChart(shown) {
    const ids = shown.map((t) => t.trial_id);
    const curves = shown.map(curve);
    const xs = new Set();
    for (const points of curves) for (const [x] of points) xs.add(x);
    const x = [...xs].sort((a, b) => a - b);
    const index = new Map(x.map((v, i) => [v, i]));
    const data = [x, ...curves.map((points) => {
      const ys = new Array(x.length).fill(null);
      for (const [px, py] of points) ys[index.get(px)] = py;
      return ys;
    })];
    const key = state.metric + "\n" + ids.join("\n");
    $("chart-title").textContent = state.metric ? "(" + state.metric + " by training_iteration)" : "";
    const box = $("chart");
    if (state.chart && state.chartKey === key) { state.chart.setData(data); return; }
    if (state.chart) state.chart.destroy();
    const names = new Map(shown.map((t) => [t.trial_id, t.name]));
    state.chart = new uPlot({
      width: Math.max(320, box.clientWidth || 800), height: 320,
      scales: {x: {time: false}},
      axes: [{label: "training_iteration"}, {label: state.metric || ""}],
      series: [{label: "iteration"}, ...ids.map((id) => ({
        label: names.get(id), stroke: color(id), width: 1.5, spanGaps: true, points: {show: false},
      }))],
    }, data, box);
    state.chartKey = key;
  }

  // --- the loop -------------------------------------------------------------------------------------
  // The JSON logger flushes result.json every few seconds: the file is read again at most every
  // FILE_EVERY_MS while it lags behind the listing, and the listing's last result bridges the gap.
  const FILE_EVERY_MS = 2500;

  function lastX(h) { return h.points.length ? h.points[h.points.length - 1][0] : -Infinity; }

  async function refreshHistory(shown) {
    const metric = state.metric;
    for (const t of shown) {
      let h = state.history.get(t.trial_id);
      if (!h) { h = {offset: 0, points: [], at: 0}; state.history.set(t.trial_id, h); }
      const iteration = (t.last_result || {}).training_iteration || 0;
      if (iteration <= lastX(h) || Date.now() - h.at < FILE_EVERY_MS) continue;
      h.at = Date.now();
      const answer = await api("/api/trials/" + encodeURIComponent(t.trial_id) + "/results?metric=" +
                               encodeURIComponent(metric) + "&offset=" + h.offset);
      if (state.metric !== metric || state.history.get(t.trial_id) !== h) return;  // Changed meanwhile.
      if (answer.start !== h.offset) h.points = [];  // The file was rewritten: start over.
      h.points.push(...answer.points);
      h.offset = answer.offset;
    }
  }

  function curve(t) {
    const h = state.history.get(t.trial_id);
    const points = h.points.slice();
    const live = metricValue(t.last_result, state.metric);
    const iteration = (t.last_result || {}).training_iteration;
    if (live !== null && typeof iteration === "number" && iteration > lastX(h)) points.push([iteration, live]);
    return points;
  }

  async function poll() {
    if (state.stopped) return;
    try {
      const trials = await api("/api/trials");
      state.trials = trials;
      state.polls += 1;
      renderMetricChoice(numericKeys(trials));
      const order = ranked(trials);
      const best = order[0] || null;
      const shown = order.slice(0, MAX_CURVES);
      if (state.metric) await refreshHistory(shown);
      for (const id of [...state.history.keys()]) if (!shown.some((t) => t.trial_id === id)) state.history.delete(id);
      $("main").hidden = false;
      showMessage("");
      renderSummary(trials);
      renderBest(best);
      renderTable(trials, best);
      if (state.metric) renderChart(trials.filter((t) => state.history.has(t.trial_id)));  // Listing order.
    } catch (error) {
      if (state.stopped) return;
      state.errors += 1;
      showMessage("Cannot reach the run's server: " + error.message + " (the run may have ended). Retrying.");
    }
    setTimeout(poll, POLL_MS);
  }

  async function stopTrial(trial, button) {
    button.disabled = true;
    try {
      const stopped = await api("/api/trials/" + encodeURIComponent(trial.trial_id) + "/stop", {method: "POST"});
      button.replaceWith(document.createTextNode(stopped.status));
    } catch (error) {
      if (!state.stopped) { button.disabled = false; showMessage("Could not stop " + trial.name + ": " + error.message); }
    }
  }

  $("metric").addEventListener("change", (e) => {
    state.metric = e.target.value; state.history.clear(); state.chartKey = "";
  });
  $("mode").addEventListener("change", (e) => { state.mode = e.target.value; });

  state.token = readToken();
  if (!state.token) {
    stopPolling("No token: this page needs the run's bearer token. Open the dashboard URL the run printed " +
                "(http://HOST:PORT/#token=...), or add #token=<token> from the experiment directory's " +
                ".tune_server.json to this address.");
  } else {
    poll();
  }
})();
