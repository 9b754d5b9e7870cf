/* logenrich report: draws the map and the panels from the JSON data embedded in the page.
 * Written for this project (MIT OR Apache-2.0). Every string that comes from a record
 * reaches the DOM through textContent, attribute setters or form values, never as markup.
 * The data's layout is written by report/src/model.rs. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var S = data.s;
  var clients = data.clients;

  function str(i) { return i >= 0 ? S[i] : null; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  /* A client list: an index array, or a base64 bitset over all clients. */
  function ids(list) {
    if (typeof list !== 'string') { return list; }
    var bin = atob(list), out = [];
    for (var i = 0; i < bin.length; i++) {
      var b = bin.charCodeAt(i);
      for (var k = 0; k < 8; k++) { if (b & (1 << k)) { out.push(i * 8 + k); } }
    }
    return out;
  }
  function addr(id) { return clients[id][0]; }

  /* The copyable list of addresses behind a figure. */
  var dlg = document.getElementById('list');
  var dlgTitle = document.getElementById('list-title');
  var dlgText = document.getElementById('list-text');
  function showList(title, lines) {
    dlgTitle.textContent = title + ' (' + num(lines.length) + ')';
    dlgText.value = lines.join('\n');
    dlg.hidden = false;
    dlgText.focus();
    dlgText.select();
  }
  document.getElementById('list-copy').addEventListener('click', function () {
    dlgText.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    if (!ok && navigator.clipboard) { navigator.clipboard.writeText(dlgText.value).catch(function () {}); }
  });
  document.getElementById('list-close').addEventListener('click', function () { dlg.hidden = true; });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') { dlg.hidden = true; } });

  function listButton(title, list, count) {
    var b = el('button', 'link', num(count));
    b.type = 'button';
    b.title = 'list these client addresses';
    b.addEventListener('click', function () { showList(title, ids(list).map(addr)); });
    return b;
  }

  var SOURCES = ['', 'reverse DNS', 'User-Agent', 'reverse DNS and User-Agent'];
  function place(c) {
    var g = c[3], parts = [str(g[3]), str(g[2]), str(g[1])].filter(function (x) { return x; });
    var cc = str(g[0]);
    return parts.length || cc ? parts.join(', ') + (cc ? ' (' + cc + ')' : '') : null;
  }
  function asn(c) { return c[4] === null ? null : 'AS' + c[4] + (str(c[5]) ? ' ' + str(c[5]) : ''); }
  function ptr(c) { return str(c[1]) || (str(c[2]) ? '(' + str(c[2]).replace('_', ' ') + ')' : '(reverse DNS off)'); }
  function scanner(c) {
    if (!c[7]) { return null; }
    return SOURCES[c[7]] + ': ' + c[8].map(str).join(', ');
  }
  function verdicts(c) {
    return c[9].map(function (v) {
      var zone = str(v[0]);
      if (str(v[5])) { return zone + ': error: ' + str(v[5]); }
      if (!v[1]) { return zone + ': not listed'; }
      var what = v[2].length ? v[2].map(str) : v[3].map(str);
      return zone + ': listed: ' + what.join('; ') + (str(v[4]) ? ' (' + str(v[4]) + ')' : '');
    });
  }
  /* One client's details (a popup entry). */
  function describe(id) {
    var c = clients[id], box = el('div', 'client'), dl = el('dl');
    function row(k, v) { if (v === null || v === undefined || v === '') { return; } dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
    row('address', c[0]);
    row('PTR', ptr(c));
    row('place', place(c));
    row('ASN', asn(c));
    row('requests', num(c[6]));
    row('scanner', scanner(c));
    verdicts(c).forEach(function (v) { row('DNSBL', v); });
    c[10].forEach(function (u) { row('User-Agent', str(u)); });
    box.appendChild(dl);
    return box;
  }

  /* A panel row's examples, [field, match] pairs (the attacks panel): attacker-controlled
   * text, put in with textContent like every other record string; control characters (a
   * TLS handshake's bytes) are shown as \xHH. */
  function visible(s) {
    return String(s).replace(/[\u0000-\u001f\u007f]/g, function (c) {
      return '\\x' + ('0' + c.charCodeAt(0).toString(16).toUpperCase()).slice(-2);
    });
  }
  function examples(list) {
    var td = el('td', 'examples'), ul = el('ul');
    list.forEach(function (x) {
      var li = el('li');
      if (x[0]) { li.appendChild(el('span', 'field', x[0] + ': ')); }
      li.appendChild(el('code', null, visible(x[1])));
      ul.appendChild(li);
    });
    td.appendChild(ul);
    return td;
  }

  /* Panels: label, requests, clients (a button listing them), and examples when the
   * panel has them. */
  function panel(p) {
    var sec = el('section', 'panel');
    sec.id = 'panel-' + p.id;
    sec.appendChild(el('h3', null, p.title));
    if (p.note) { sec.appendChild(el('p', 'note', p.note)); }
    if (!p.rows.length) { sec.appendChild(el('p', 'note', 'none')); return sec; }
    var t = el('table'), head = el('tr');
    head.appendChild(el('th', null, 'value'));
    head.appendChild(el('th', 'num', 'requests'));
    head.appendChild(el('th', 'num', 'clients'));
    if (p.examples) { head.appendChild(el('th', null, 'examples')); }
    t.appendChild(head);
    p.rows.forEach(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-requests', r[1]);
      tr.setAttribute('data-clients', r[2]);
      tr.appendChild(el('td', 'label', r[0]));
      tr.appendChild(el('td', 'num', num(r[1])));
      var td = el('td', 'num');
      td.appendChild(listButton(p.title + ': ' + r[0], r[3], r[2]));
      tr.appendChild(td);
      if (p.examples) { tr.appendChild(examples(r[4] || [])); }
      t.appendChild(tr);
    });
    sec.appendChild(t);
    if (p.hidden) { sec.appendChild(el('p', 'note', num(p.hidden) + ' more values not shown')); }
    return sec;
  }
  /* The headline counts of clients list them too. */
  (function () {
    var all = clients.map(function (c, i) { return i; }), located = [];
    data.markers.forEach(function (m) { located = located.concat(ids(m[5])); });
    [['total-clients', 'All clients', all], ['total-located', 'Clients with a location', located]].forEach(function (t) {
      var b = document.querySelector('#' + t[0] + ' b');
      if (!b) { return; }
      b.textContent = '';
      b.appendChild(listButton(t[1], t[2], t[2].length));
    });
  })();
  var grid = document.getElementById('panels');
  data.panels.forEach(function (p) { grid.appendChild(panel(p)); });

  /* Requests over time: one bar per bucket, each listing its clients. */
  (function () {
    var rows = data.time.rows, box = document.getElementById('time');
    if (!rows.length) { box.appendChild(el('p', 'note', 'no timed records')); return; }
    var ns = 'http://www.w3.org/2000/svg', svg = document.createElementNS(ns, 'svg');
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; })) || 1;
    var w = 1000, h = 160, bw = w / rows.length;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('class', 'bars');
    rows.forEach(function (r, i) {
      var rect = document.createElementNS(ns, 'rect'), bh = Math.max(r[1] ? 1 : 0, r[1] / max * (h - 4));
      rect.setAttribute('x', (i * bw + bw * 0.1).toFixed(2));
      rect.setAttribute('width', Math.max(bw * 0.8, 0.5).toFixed(2));
      rect.setAttribute('y', (h - bh).toFixed(2));
      rect.setAttribute('height', bh.toFixed(2));
      rect.setAttribute('data-requests', r[1]);
      var title = document.createElementNS(ns, 'title');
      title.textContent = r[0] + ' UTC: ' + num(r[1]) + ' requests, ' + num(r[2]) + ' clients';
      rect.appendChild(title);
      rect.addEventListener('click', function () { showList('Clients from ' + r[0] + ' UTC', ids(r[3]).map(addr)); });
      svg.appendChild(rect);
    });
    box.appendChild(svg);
    var hours = rows[0][4] / 3600;
    box.appendChild(el('p', 'note', rows[0][0] + ' to ' + rows[rows.length - 1][0] + ' UTC, ' +
      (hours >= 24 ? hours / 24 + ' day' : hours + ' hour') + ' bars' +
      (data.time.untimed ? '; ' + num(data.time.untimed) + ' records without a time' : '') + '. Click a bar for its clients.'));
  })();

  /* Parse errors by reason, with the first places each was seen. */
  (function () {
    var box = document.getElementById('errors');
    if (!data.errors.length) { box.appendChild(el('p', 'note', 'none')); return; }
    var t = el('table'), head = el('tr');
    ['reason', 'lines', 'where'].forEach(function (h, i) { head.appendChild(el('th', i ? 'num' : null, h)); });
    t.appendChild(head);
    data.errors.forEach(function (e) {
      var tr = el('tr'), td = el('td', 'num');
      tr.setAttribute('data-requests', e[1]);
      tr.appendChild(el('td', 'label', e[0]));
      tr.appendChild(el('td', 'num', num(e[1])));
      if (e[2].length) {
        var b = el('button', 'link', e[2].length < e[1] ? 'first ' + e[2].length : 'lines');
        b.type = 'button';
        b.addEventListener('click', function () { showList('Lines: ' + e[0], e[2]); });
        td.appendChild(b);
      }
      tr.appendChild(td);
      t.appendChild(tr);
    });
    box.appendChild(t);
  })();

  /* The busiest clients. */
  (function () {
    var box = document.getElementById('top-clients'), t = el('table'), head = el('tr');
    ['address', 'PTR', 'place', 'ASN', 'requests', 'scanner', 'DNSBL'].forEach(function (h) { head.appendChild(el('th', h === 'requests' ? 'num' : null, h)); });
    t.appendChild(head);
    data.top.forEach(function (id) {
      var c = clients[id], tr = el('tr');
      [c[0], ptr(c), place(c), asn(c), num(c[6]), scanner(c), verdicts(c).join('\n')].forEach(function (v, i) {
        tr.appendChild(el('td', i === 4 ? 'num' : 'label', v === null ? '' : v));
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
  })();

  /* The map: the vendored basemap, one circle per location, clustered. */
  var map = L.map('map', { minZoom: 1, maxZoom: 12, zoomSnap: 0.5, worldCopyJump: false });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('Basemap: Natural Earth. Map: Leaflet');
  L.geoJSON(JSON.parse(document.getElementById('basemap').textContent), {
    interactive: false,
    style: { color: '#9a9a9a', weight: 0.6, fillColor: '#f4f1ea', fillOpacity: 1 }
  }).addTo(map);
  function popup(m) {
    var box = el('div', 'popup'), list = ids(m[5]);
    box.appendChild(el('h3', null, num(m[2]) + ' requests from ' + num(list.length) + ' client' + (list.length === 1 ? '' : 's')));
    var inner = el('div', 'popup-list');
    list.slice(0, 20).forEach(function (id) { inner.appendChild(describe(id)); });
    box.appendChild(inner);
    if (list.length > 1) {
      var b = el('button', 'link', 'copy all ' + num(list.length) + ' addresses');
      b.type = 'button';
      b.addEventListener('click', function () { showList('Clients at ' + m[0] + ', ' + m[1], list.map(addr)); });
      box.appendChild(b);
    }
    return box;
  }
  var cluster = L.markerClusterGroup({
    showCoverageOnHover: false, maxClusterRadius: 35, chunkedLoading: data.markers.length > 5000
  });
  var points = [], layers = [];
  data.markers.forEach(function (m) {
    var c = L.circleMarker([m[0], m[1]], { radius: m[4], fillColor: m[3], color: '#333', weight: 1, opacity: 1, fillOpacity: 0.85 });
    c.bindPopup(function () { return popup(m); }, { maxWidth: 440 });
    cluster.addLayer(c);
    layers.push(c);
    points.push([m[0], m[1]]);
  });
  map.addLayer(cluster);
  if (points.length) { map.fitBounds(points, { padding: [30, 30], maxZoom: 4 }); } else { map.setView([20, 0], 1); }
  /* report.html#marker=N opens the popup of the N-th marker (fewest requests first). */
  var wanted = /^#marker=(\d+)$/.exec(location.hash), target = wanted && layers[Number(wanted[1])];
  if (target) {
    if (map.hasLayer(target)) { target.openPopup(); } else { cluster.zoomToShowLayer(target, function () { target.openPopup(); }); }
  }

  var status = document.getElementById('status');
  status.setAttribute('data-markers', String(data.markers.length));
  status.setAttribute('data-panels', String(data.panels.length));
  status.textContent = 'rendered';
})();
