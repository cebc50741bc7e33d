// The sync-monitor dashboard: plain JS, one summary call (jobs' progress bars included) and the three series calls the
// charts draw (charts.js), refreshed together; remediation actions as API calls.
(function () {
  'use strict';
  var tokenInput = document.getElementById('token');
  var windowSelect = document.getElementById('window');
  var chartWindow = document.getElementById('chart-window');
  // The admin token lives in this page's memory only, never in web storage, where any script of this
  // origin or anyone at this browser profile could read it later: a reload asks for it again. A token
  // given in the address (#token=...) is taken out of it at once, so it stays in neither the history
  // nor a copied link, and the copy earlier versions of this page stored is removed.
  var fromHash = /token=([^&]+)/.exec(location.hash);
  var token = fromHash ? decodeURIComponent(fromHash[1]) : '';
  if (fromHash) history.replaceState(null, '', location.pathname + location.search);
  try {
    window.localStorage.removeItem('syncMonitorToken');
  } catch {
    // storage disabled: nothing was kept there
  }
  tokenInput.value = token;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = c instanceof Node ? c : el('td', c);
      if (c instanceof Node && c.tagName !== 'TD') {
        td = el('td');
        td.appendChild(c);
      }
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(id, rows, empty) {
    var body = document.querySelector('#' + id + ' tbody');
    body.textContent = '';
    if (!rows.length) {
      var tr = row([empty]);
      tr.className = 'empty';
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (r) {
      body.appendChild(r);
    });
  }
  function showError(msg) {
    var p = document.getElementById('error');
    p.hidden = !msg;
    p.textContent = msg || '';
  }
  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: Object.assign({ authorization: 'Bearer ' + token }, body ? { 'content-type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) throw new Error((json.code || res.status) + ': ' + (json.message || '') + (json.hint ? ' (' + json.hint + ')' : ''));
        return json;
      });
    });
  }
  function ms(v) {
    return v === null || v === undefined ? '–' : String(v);
  }

  function act(kind, ev) {
    var result = document.getElementById('action-result');
    var call;
    if (kind === 'retry') call = api('POST', '/propagation/events/' + ev.eventId + '/retry', {});
    else {
      var note = window.prompt(kind === 'reconcile' ? 'Reconciliation note' : 'Support case note', '');
      if (!note) return;
      call = api('POST', '/propagation/events/' + ev.eventId + '/' + (kind === 'reconcile' ? 'reconcile' : 'support-case'), { note: note });
    }
    result.textContent = kind + ' ' + ev.eventId + '…';
    call
      .then(function (r) {
        var e = r.event || r;
        if (kind === 'retry') {
          var last = e.retries.slice(-Math.max(1, e.lagging.length));
          result.textContent =
            'Retry of ' +
            e.eventId +
            ': ' +
            last
              .map(function (x) {
                return (x.group || x.service) + ' ' + x.outcome;
              })
              .join(', ');
        } else if (kind === 'reconcile') result.textContent = 'Event ' + e.eventId + ' marked reconciled';
        else result.textContent = 'Support case ' + r.caseId + ' opened for ' + e.eventId;
        result.dataset.outcome = 'ok';
        load();
      })
      .catch(function (err) {
        result.textContent = 'Failed: ' + err.message;
        result.dataset.outcome = 'error';
      });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return 'unknown';
    if (seconds < 60) return seconds + ' s';
    if (seconds < 3600) return Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s';
    return Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min';
  }

  // One bar per running (or queued) job: done of total, the rate over the run so far, the ETA, the errors.
  function jobRow(j) {
    var cell = el('span', null, 'job-progress');
    var bar = document.createElement('progress');
    bar.max = Math.max(1, j.total);
    bar.value = j.done;
    bar.setAttribute('aria-label', j.kind + ' ' + j.id);
    cell.appendChild(bar);
    cell.appendChild(el('span', j.done + ' / ' + j.total + ' (' + (j.total ? Math.floor((j.done / j.total) * 100) : 100) + ' %)'));
    var errors = el('span', j.errors, j.errors ? 'blocked' : '');
    if (j.firstErrors.length)
      errors.title = j.firstErrors
        .map(function (e) {
          return e.unit + ': ' + e.code + ' ' + e.message;
        })
        .join('\n');
    var tr = row([
      el('span', j.kind + ' ' + j.id, 'job-id'),
      j.service,
      cell,
      j.state === 'queued' ? 'queued' : j.rate + ' /s',
      el('span', j.stalled ? 'stalled' : duration(j.etaSeconds), j.stalled ? 'state-late' : ''),
      errors,
    ]);
    tr.dataset.jobId = j.id;
    return tr;
  }

  function render(s) {
    fill(
      'jobs',
      (s.jobs || [])
        .filter(function (j) {
          return j.state === 'running' || j.state === 'queued';
        })
        .map(jobRow),
      'No job running',
    );
    fill(
      'channels',
      s.channels.map(function (c) {
        return row([
          c.code,
          c.name,
          el('span', c.state, 'state-' + c.state),
          el('span', c.blockReasons.join(', ') || '–', c.blockReasons.length ? 'blocked' : ''),
          c.expectedBackAt ? new Date(c.expectedBackAt).toLocaleString() : '–',
        ]);
      }),
      'No channel seen yet',
    );
    fill(
      'percentiles',
      s.percentiles.map(function (p) {
        return row([p.type, p.count, ms(p.p50), ms(p.p95), ms(p.p99), ms(p.max)]);
      }),
      'No acknowledgements in this window',
    );
    fill(
      'issues',
      s.issues.map(function (g) {
        return row([g.consumer, g.errorClass, g.channel, el('span', g.state, 'state-' + g.state), g.count]);
      }),
      'Nothing failing',
    );
    fill(
      'issue-events',
      s.issueEvents.map(function (e) {
        var actions = el('span');
        [
          ['retry', 'Retry now'],
          ['reconcile', 'Mark reconciled'],
          ['support', 'Open support case'],
        ].forEach(function (a) {
          var b = el('button', a[1]);
          b.type = 'button';
          b.dataset.action = a[0];
          b.dataset.eventId = e.eventId;
          b.addEventListener('click', function () {
            act(a[0], e);
          });
          actions.appendChild(b);
        });
        var tr = row([
          e.eventId,
          e.type,
          el('span', e.escalation && e.escalation.status === 'opened' ? 'escalated' : e.state, 'state-' + e.state),
          e.lagging.join(', '),
          e.retries.length,
          actions,
        ]);
        tr.dataset.eventId = e.eventId;
        return tr;
      }),
      'No event needs attention',
    );
    fill(
      'recent',
      s.recentEvents.map(function (e) {
        return row([
          new Date(e.occurredAt).toLocaleTimeString(),
          e.type,
          e.sourceChannel || '–',
          el('span', e.state, 'state-' + e.state),
          e.acks
            .map(function (a) {
              return a.service + ' ' + a.outcome + ' ' + a.lagMs;
            })
            .join('; ') || '–',
        ]);
      }),
      'No events yet',
    );
    fill(
      'consumer-lag',
      s.consumerLag.map(function (g) {
        return row([g.group, g.topic, g.lag]);
      }),
      'Not measured yet',
    );
    // The monitor's own lag: an operator must never read "all green" from a monitor that is behind.
    var t = s.tracking;
    var status = document.getElementById('tracking-status');
    status.textContent =
      t.status === 'degraded' ? 'DEGRADED: ' + ms(t.behindMs) + ' ms behind (SLA ' + ms(t.shortestSlaMs) + ' ms)' : 'current';
    status.className = t.status === 'degraded' ? 'state-degraded' : 'state-active';
    fill(
      'tracking',
      t.groups.map(function (g) {
        return row([g.group, ms(g.behindMs)]);
      }),
      'Not joined yet',
    );
    document.getElementById('updated').textContent = 'updated ' + new Date(s.at).toLocaleTimeString();
  }

  function load() {
    if (!token) {
      showError('Enter an admin token to see the dashboard.');
      return Promise.resolve();
    }
    var over = '?window=' + encodeURIComponent(chartWindow.value);
    return Promise.all([
      api('GET', '/dashboard/summary?window=' + encodeURIComponent(windowSelect.value)),
      api('GET', '/propagation/series' + over),
      api('GET', '/escalations/series' + over),
      api('GET', '/consumer-lag/series' + over),
    ])
      .then(function (r) {
        showError('');
        render(r[0]);
        window.SyncCharts.render({ propagation: r[1], escalations: r[2], consumerLag: r[3] });
        document.body.dataset.loaded = 'true';
      })
      .catch(function (err) {
        showError(err.message);
      });
  }

  document.getElementById('auth').addEventListener('submit', function (ev) {
    ev.preventDefault();
    token = tokenInput.value.trim().replace(/^Bearer\s+/i, '');
    load();
  });
  windowSelect.addEventListener('change', load);
  chartWindow.addEventListener('change', load);
  load();
  setInterval(load, 5000);
})();
