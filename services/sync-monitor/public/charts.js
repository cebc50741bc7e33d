/* global uPlot */
// The dashboard's charts (uPlot, served from the monitor itself): propagation p99 per channel with the SLA,
// escalations opened/resolved, consumer lag per group. SyncCharts.render(series) draws or updates all three.
(function () {
  'use strict';
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#d62728'];
  var charts = {};

  function color(i) {
    return PALETTE[i % PALETTE.length];
  }
  function seconds(steps) {
    return steps.map(function (t) {
      return t / 1000;
    });
  }
  function widthOf(target) {
    return Math.max(320, target.clientWidth || 600);
  }
  // Every y axis starts at 0 (lag and counts), with some room above the largest value.
  function fromZero(u, min, max) {
    return [0, Math.max(1, max === null || max === undefined ? 1 : max) * 1.1];
  }
  var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 24] }) : undefined;

  // Draws a chart into #id, or updates the one there when its series are the same.
  // Counts (escalations, records behind) get whole-number ticks.
  var WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1e6, 1e7];

  function draw(id, yLabel, series, data, whole) {
    var target = document.getElementById(id);
    var signature = series
      .map(function (s) {
        return s.label;
      })
      .join('\u0000');
    var existing = charts[id];
    if (existing && existing.signature === signature) {
      existing.plot.setData(data);
      return;
    }
    if (existing) existing.plot.destroy();
    target.textContent = '';
    var plot = new uPlot(
      {
        width: widthOf(target),
        height: 220,
        scales: { x: { time: true }, y: { range: fromZero } },
        axes: [{}, whole ? { label: yLabel, size: 60, incrs: WHOLE } : { label: yLabel, size: 60 }],
        legend: { show: true },
        series: [{}].concat(series),
      },
      data,
      target,
    );
    charts[id] = { plot: plot, signature: signature };
  }

  function propagation(p) {
    var series = p.channels.map(function (c, i) {
      return { label: c.channel + ' p99', stroke: color(i), width: 2, points: { show: true, size: 5 }, spanGaps: true };
    });
    series.push({ label: 'SLA ' + p.slaMs / 1000 + ' s', stroke: '#b00020', width: 1.5, dash: [6, 4], points: { show: false } });
    var data = [seconds(p.steps)]
      .concat(
        p.channels.map(function (c) {
          return c.p99;
        }),
      )
      .concat([
        p.steps.map(function () {
          return p.slaMs;
        }),
      ]);
    draw('chart-propagation', 'p99 lag (ms)', series, data);
    document.getElementById('chart-propagation-more').textContent = p.more ? '+' + p.more + ' more channels not shown' : '';
  }

  function escalations(e) {
    var series = [
      { label: 'opened', stroke: '#b00020', fill: 'rgba(176,0,32,0.35)', width: 1, paths: bars, points: { show: false } },
      { label: 'resolved', stroke: '#17692b', fill: 'rgba(23,105,43,0.35)', width: 1, paths: bars, points: { show: false } },
    ];
    draw('chart-escalations', 'escalations', series, [seconds(e.steps), e.opened, e.resolved], true);
  }

  function consumerLag(l) {
    var series = l.groups.map(function (g, i) {
      return { label: g.group, stroke: color(i), width: 2, points: { show: true, size: 4 }, spanGaps: true };
    });
    var data = [seconds(l.steps)].concat(
      l.groups.map(function (g) {
        return g.lag;
      }),
    );
    draw('chart-consumer-lag', 'lag (records)', series, data, true);
    document.getElementById('chart-consumer-lag-more').textContent = l.more ? '+' + l.more + ' more groups not shown' : '';
  }

  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (id) {
      var target = document.getElementById(id);
      charts[id].plot.setSize({ width: widthOf(target), height: 220 });
    });
  });

  window.SyncCharts = {
    render: function (s) {
      propagation(s.propagation);
      escalations(s.escalations);
      consumerLag(s.consumerLag);
      document.body.dataset.charts = 'drawn';
    },
  };
})();
