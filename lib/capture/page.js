// The page of framecat dissect --html: plain JavaScript run by the browser,
// as old as browsers it must open in (ES5: var), with the browser's globals.
// It reads the JSON chunks, draws the packet list's visible rows, and the
// chosen packet's details and bytes. Built into page_assets.ts by
// `deno task build:page`.
// deno-lint-ignore-file no-var no-inner-declarations no-window no-window-prefix no-control-regex
(function () {
  "use strict";
  var ROW = 22, KEEP = 16, PRINT_MAX = 2000;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var list = $("list"), spacer = $("spacer"), details = $("details"), bytesPane = $("bytes");
  var GROUP = {
    ethernet: "link",
    llc: "link",
    snap: "link",
    sll: "link",
    loopback: "link",
    ipv4: "net",
    ipv6: "net",
    tcp: "tr",
    udp: "tr",
    payload: "pl",
    framecat: "app",
  };
  function group(name) {
    return "g-" + (GROUP[name] || "other");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Shown text: JSON for what is not a plain string or number, with control
  // characters JSON leaves raw (DEL, C1, separators) escaped too.
  function show(v) {
    return visible(text(v));
  }
  function text(v) {
    if (Array.isArray(v)) {
      return v.map(text).join(
        v.some(function (x) {
            return x && typeof x === "object";
          })
          ? "; "
          : ", ",
      );
    }
    if (v && typeof v === "object") {
      var lead = typeof v.kind === "string" ? v.kind : typeof v.name === "string" ? v.name : null;
      return (lead === null ? [] : [lead]).concat(
        Object.keys(v).filter(function (k) {
          return lead === null || (k !== "kind" && k !== "name");
        }).map(function (k) {
          return k + "=" + (v[k] && typeof v[k] === "object" ? JSON.stringify(v[k]) : v[k]);
        }),
      ).join(" ");
    }
    return String(v);
  }
  // Controls, separators, and the marks and overrides that reorder text, escaped visibly.
  function visible(s) {
    return s.replace(
      /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
      function (c) {
        return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
      },
    );
  }
  function range(r) {
    return r[0] === r[1] ? "byte " + r[0] : "bytes " + r[0] + "\u2013" + r[1];
  }
  // Values as the text output shows them: hex where Wireshark shows hex, flags with
  // their bits, a checksum with its status; these keys are shown with another.
  var HEX_WIDTH = { etherType: 4, pid: 4, oui: 6, dsap: 2, ssap: 2, control: 2, checksum: 4 };
  var SHOWN_WITH = { checksumStatus: 1, checksumCalculated: 1, flagBits: 1 };
  function hexOf(n, width) {
    var h = n.toString(16);
    while (h.length < width) h = "0" + h;
    return "0x" + h;
  }
  function fieldValue(layer, values, key) {
    var v = values[key], text;
    if (key === "flags" && Array.isArray(v) && typeof values.flagBits === "number") {
      return hexOf(values.flagBits, layer === "tcp" ? 3 : 1) + " (" + (v.join(", ") || "none") +
        ")";
    }
    if (typeof v === "number" && (HEX_WIDTH[key] || (layer === "sll" && key === "protocol"))) {
      text = hexOf(v, HEX_WIDTH[key] || 4);
    } else if (key === "prefix" && typeof v === "string") {
      text = visible(JSON.stringify(v));
    } else if (key === "options" && Array.isArray(v)) {
      text = v.map(function (o) {
        if (o.kind === "TS") return "TS " + o.value + "/" + o.echo;
        if (o.kind === "SACK") {
          return "SACK " + o.blocks.map(function (b) {
            return b.join("-");
          }).join(" ");
        }
        return o.value === undefined ? String(o.kind) : o.kind + " " + o.value;
      }).join(" ");
    } else text = show(v);
    if (key === "checksum" && typeof values.checksumStatus === "string") {
      var c = values.checksumCalculated;
      return text + " (" + values.checksumStatus + (typeof c === "number"
        ? (values.checksumStatus === "incorrect" ? ", should be " : ", computed ") + hexOf(c, 4)
        : "") +
        ")";
    }
    var name = values[key + "Name"];
    return name === undefined ? text : text + " (" + show(name) + ")";
  }

  // Packets, decoded a chunk at a time and kept for the last KEEP chunks used.
  var chunks = [].map.call(document.querySelectorAll("script.fc-p"), function (s) {
    return {
      el: s,
      first: +s.dataset.first,
      count: +s.dataset.count,
      n0: +s.dataset.n0,
      n1: +s.dataset.n1,
      packets: null,
    };
  });
  var total = chunks.length ? chunks[chunks.length - 1].first + chunks[chunks.length - 1].count : 0;
  var used = [];
  function decode(c) {
    if (!c.packets) {
      var raw = JSON.parse(c.el.textContent);
      c.packets = raw.packets.map(function (p) {
        return expand(p, raw.shapes);
      });
      used.push(c);
      if (used.length > KEEP) used.shift().packets = null;
    }
    return c.packets;
  }
  function expand(p, shapes) {
    return {
      number: p[0],
      length: p[1],
      captured: p[2],
      time: p[3],
      bytes: p[4] || null,
      layers: (p[5] || []).map(function (l) {
        var shape = shapes[l[0]],
          keys = shape[1],
          ranges = shape[2] || {},
          bits = shape[3] || {},
          fields = [],
          values = {};
        var at = function (key) {
          var r = ranges[key];
          return r ? [l[1] + r[0], l[1] + r[1]] : null;
        };
        keys.forEach(function (k, i) {
          values[k] = l[3 + i];
        });
        // A field's meaning, "protocolName" beside "protocol", is shown with it.
        keys.forEach(function (k) {
          var named = /^(.+)Name$/.exec(k);
          if ((named && named[1] in values) || SHOWN_WITH[k]) return;
          fields.push({
            key: k,
            value: values[k],
            meaning: values[k + "Name"],
            range: at(k),
            bits: bits[k],
          });
        });
        Object.keys(ranges).forEach(function (k) {
          if (!(k in values)) fields.push({ key: k, range: at(k), bits: bits[k] });
        });
        return { layer: shape[0], start: l[1], end: l[2], fields: fields, values: values };
      }),
      notes: p[6] || [],
      rest: p[7] || null,
    };
  }
  function chunkAt(i) {
    var lo = 0, hi = chunks.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (chunks[mid].first <= i) lo = mid;
      else hi = mid - 1;
    }
    return chunks[lo];
  }
  function packet(i) {
    var c = chunkAt(i);
    return decode(c)[i - c.first];
  }
  function indexOf(number) {
    for (var k = 0; k < chunks.length; k++) {
      var c = chunks[k];
      if (number < c.n0 || number > c.n1) continue;
      var ps = decode(c);
      for (var j = 0; j < ps.length; j++) if (ps[j].number === number) return c.first + j;
    }
    return -1;
  }

  // Messages and problems, by connection.
  var conns = new Map(),
    framecatPackets = new Map(),
    others = [],
    fileProblems = [],
    nMessages = 0,
    nProblems = 0;
  document.querySelectorAll("script.fc-m").forEach(function (s) {
    JSON.parse(s.textContent).forEach(function (r) {
      var key = typeof r.stream === "string" ? r.stream : "";
      if (r.type === "problem" && typeof r.stream !== "string") {
        fileProblems.push(r.reason);
        return;
      }
      if (r.type !== "message" && r.type !== "problem") {
        others.push(r);
        return;
      }
      if (!conns.has(key)) conns.set(key, []);
      conns.get(key).push(r);
      if (r.type === "message") {
        nMessages++;
        var said = visible(r.text);
        if (said.length > 60) said = said.slice(0, 59) + "\u2026";
        (r.packets || []).forEach(function (n, k, all) {
          if (!framecatPackets.has(n)) framecatPackets.set(n, []);
          framecatPackets.get(n).push((k === all.length - 1 ? "" : "part of ") + said);
        });
      } else nProblems++;
    });
  });

  var t0 = total ? packet(0).time : 0;
  function summary(p) {
    var ip, tcp, udp, top;
    p.layers.forEach(function (l) {
      if (l.layer === "ipv4" || l.layer === "ipv6") ip = l.values;
      if (l.layer === "tcp") tcp = l.values;
      if (l.layer === "udp") udp = l.values;
      if (GROUP[l.layer] && l.layer !== "payload") top = l.layer;
    });
    var info = p.notes.length ? p.notes[0] : "";
    if (udp) {
      info = udp.srcPort + " \u2192 " + udp.dstPort +
        (p.notes.length ? "  (" + p.notes[0] + ")" : "");
    }
    if (tcp) {
      info = tcp.srcPort + " \u2192 " + tcp.dstPort + " [" + (tcp.flags || []).join(", ") +
        "] Seq=" +
        (tcp.relativeSeq !== undefined ? tcp.relativeSeq : tcp.seq) +
        (tcp.relativeAck !== undefined ? " Ack=" + tcp.relativeAck : "") +
        " Win=" + (tcp.scaledWindow !== undefined ? tcp.scaledWindow : tcp.window) + " Len=" +
        tcp.payloadLength +
        (p.notes.length ? "  (" + p.notes[0] + ")" : "");
    }
    if (framecatPackets.has(p.number)) {
      info = framecatPackets.get(p.number).join(", ") + "  \u00b7  " + info;
    }
    return [
      String(p.number),
      (p.time - t0).toFixed(6),
      ip ? show(ip.src) : "",
      ip ? show(ip.dst) : "",
      framecatPackets.has(p.number) ? "framecat" : top ? top.toUpperCase() : "",
      String(p.length),
      visible(info),
    ];
  }

  // The packet list: only the rows in view exist.
  var selected = -1, rows = [], drawn = false;
  spacer.style.height = total * ROW + "px";
  function draw() {
    drawn = false;
    var top = list.scrollTop, height = list.clientHeight || 400;
    var from = Math.max(0, Math.floor(top / ROW) - 5),
      to = Math.min(total, Math.ceil((top + height) / ROW) + 5);
    var frag = document.createDocumentFragment();
    rows = [];
    for (var i = from; i < to; i++) {
      var p = packet(i), row = el("div", "row");
      row.id = "pkt-" + i;
      row.setAttribute("role", "option");
      row.setAttribute("aria-selected", String(i === selected));
      row.setAttribute("aria-setsize", String(total));
      row.setAttribute("aria-posinset", String(i + 1));
      row.dataset.i = i;
      row.style.top = i * ROW + "px";
      if (i === selected) row.classList.add("sel");
      if (framecatPackets.has(p.number)) row.classList.add("framecat");
      else if (p.notes.length) row.classList.add("note");
      summary(p).forEach(function (text) {
        row.appendChild(el("span", "", text));
      });
      frag.appendChild(row);
      rows.push(row);
    }
    spacer.replaceChildren(frag);
    if (selected >= 0 && $("pkt-" + selected)) {
      list.setAttribute("aria-activedescendant", "pkt-" + selected);
    } else list.removeAttribute("aria-activedescendant");
  }
  function redraw() {
    if (!drawn) {
      drawn = true;
      requestAnimationFrame(draw);
    }
  }
  list.addEventListener("scroll", redraw);
  window.addEventListener("resize", redraw);
  list.addEventListener("click", function (e) {
    var row = e.target.closest(".row");
    if (row) select(+row.dataset.i);
  });
  function pageRows() {
    return Math.max(1, Math.floor(list.clientHeight / ROW) - 1);
  }
  function move(key) {
    var to = {
      ArrowDown: selected + 1,
      ArrowUp: selected - 1,
      PageDown: selected + pageRows(),
      PageUp: selected - pageRows(),
      Home: 0,
      End: total - 1,
    }[key];
    if (to === undefined) return false;
    select(Math.max(0, Math.min(total - 1, to)));
    return true;
  }
  // In the list every move key works; on the page or in the details, Up and Down.
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || !total) return;
    var t = e.target, upDown = e.key === "ArrowDown" || e.key === "ArrowUp";
    var free = t === document.body || t === document.documentElement || details.contains(t);
    if (t !== list && !(free && upDown)) return;
    if (move(e.key)) e.preventDefault();
  });

  function select(i) {
    if (i < 0 || i >= total) return;
    selected = i;
    var top = i * ROW, h = list.clientHeight;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + ROW > list.scrollTop + h) list.scrollTop = top + ROW - h;
    draw();
    var p = packet(i);
    showPacket(p);
    // The address names the packet: report.html#7 opens on packet 7.
    if (location.hash !== "#" + p.number) history.replaceState(null, "", "#" + p.number);
  }
  // The packet the address names, or else the first that carries framecat bytes, or else the first.
  function firstShown() {
    var named = /^#(\d+)$/.exec(location.hash);
    var at = named ? indexOf(+named[1]) : -1;
    if (at >= 0) return at;
    var first = Infinity;
    framecatPackets.forEach(function (_, n) {
      if (n < first) first = n;
    });
    at = first === Infinity ? -1 : indexOf(first);
    return at >= 0 ? at : 0;
  }
  window.addEventListener("hashchange", function () {
    var named = /^#(\d+)$/.exec(location.hash);
    var at = named ? indexOf(+named[1]) : -1;
    if (at >= 0 && at !== selected) select(at);
  });

  // The chosen packet: its layers and fields, and its bytes.
  var cells = { hex: [], asc: [] },
    lit = [],
    litField = null,
    pinned = null,
    cursor = -1;
  function showPacket(p) {
    pinned = null;
    cursor = -1;
    var frag = document.createDocumentFragment();
    frag.appendChild(el("h2", "", "Packet " + p.number));
    frag.appendChild(
      el(
        "p",
        "meta",
        p.length + " bytes on the wire, " + p.captured + " captured, at " +
          (p.time - t0).toFixed(6) + " s" +
          (framecatPackets.has(p.number) ? "; carries framecat bytes" : ""),
      ),
    );
    if (p.notes.length) {
      var ul = el("ul", "notes");
      p.notes.forEach(function (n) {
        ul.appendChild(el("li", "", "note: " + visible(n)));
      });
      frag.appendChild(ul);
    }
    if (p.rest) {
      Object.keys(p.rest).forEach(function (k) {
        frag.appendChild(el("p", "meta", k + ": " + show(p.rest[k])));
      });
    }
    p.layers.forEach(function (l) {
      var box = el("div", "layer " + group(l.layer));
      box.dataset.layer = l.layer;
      var head = el("button", "lh", l.layer + "  (" + range([l.start, l.end]) + ")");
      head.type = "button";
      head.dataset.s = l.start;
      head.dataset.e = l.end;
      box.appendChild(head);
      var ul = el("ul");
      l.fields.forEach(function (f) {
        var li = el("li", "f" + (f.range ? "" : " norange"));
        li.dataset.key = f.key;
        li.appendChild(el("span", "k", f.key));
        if (f.value !== undefined) {
          li.appendChild(document.createTextNode(": " + fieldValue(l.layer, l.values, f.key)));
        }
        if (f.range) {
          li.tabIndex = 0;
          li.dataset.s = f.range[0];
          li.dataset.e = f.range[1];
          li.appendChild(el(
            "span",
            "r",
            "  [" + range(f.range) +
              (f.bits
                ? (f.bits[0] === f.bits[1]
                  ? ", bit " + f.bits[0]
                  : ", bits " + f.bits[0] + "\u2013" + f.bits[1])
                : "") +
              "]",
          ));
        }
        ul.appendChild(li);
      });
      box.appendChild(ul);
      frag.appendChild(box);
    });
    details.replaceChildren(frag);
    showBytes(p);
  }
  function layerAt(p, i) {
    var found = null;
    p.layers.forEach(function (l) {
      if (l.start <= i && i <= l.end) found = l;
    });
    return found;
  }
  function showBytes(p) {
    cells = { hex: [], asc: [] };
    lit = [];
    if (!p.bytes) {
      bytesPane.replaceChildren(el("p", "meta", "The records carry no bytes for this packet."));
      return;
    }
    var n = p.bytes.length / 2, html = "";
    for (var row = 0; row < n; row += 16) {
      var hex = "", asc = "";
      for (var i = row; i < Math.min(n, row + 16); i++) {
        var h = p.bytes.substr(2 * i, 2), b = parseInt(h, 16), l = layerAt(p, i);
        var cls = 'class="b ' + (l ? group(l.layer) : "g-other") + '" data-i="' + i + '"';
        hex += "<span " + cls + ">" + h + "</span>";
        var ch = b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
        asc += "<span " + cls + ">" +
          (ch === "<" ? "&lt;" : ch === "&" ? "&amp;" : ch === ">" ? "&gt;" : ch) + "</span>";
      }
      html += '<div class="brow"><span class="off">' + ("000" + row.toString(16)).slice(-4) +
        '</span><span class="hex">' + hex + '</span><span class="asc">' + asc + "</span></div>";
    }
    bytesPane.innerHTML = html;
    bytesPane.querySelectorAll(".hex .b").forEach(function (c) {
      cells.hex.push(c);
    });
    bytesPane.querySelectorAll(".asc .b").forEach(function (c) {
      cells.asc.push(c);
    });
    var legend = el("p", "legend");
    var seen = {};
    p.layers.forEach(function (l) {
      if (seen[l.layer]) return;
      seen[l.layer] = true;
      legend.appendChild(el("span", group(l.layer), l.layer));
    });
    bytesPane.appendChild(legend);
  }
  function light(s, e, field) {
    lit.forEach(function (c) {
      c.classList.remove("hl");
    });
    lit = [];
    if (litField) litField.classList.remove("hl");
    litField = field || null;
    if (litField) litField.classList.add("hl");
    if (s === undefined) return;
    for (var i = s; i <= e && i < cells.hex.length; i++) lit.push(cells.hex[i], cells.asc[i]);
    lit.forEach(function (c) {
      c.classList.add("hl");
    });
  }
  function lightElement(t, mark) {
    light(+t.dataset.s, +t.dataset.e, mark ? t : null);
  }
  function restore() {
    if (pinned) lightElement(pinned, true);
    else light();
  }
  details.addEventListener("mouseover", function (e) {
    var t = e.target.closest("[data-s]");
    if (t) lightElement(t, false);
    else restore();
  });
  details.addEventListener("mouseleave", restore);
  details.addEventListener("focusin", function (e) {
    var t = e.target.closest("[data-s]");
    if (t) {
      pinned = t;
      lightElement(t, false);
    }
  });
  details.addEventListener("click", function (e) {
    var t = e.target.closest("[data-s]");
    if (t) {
      pinned = t;
      t.focus();
      lightElement(t, false);
    }
  });
  // A byte lights up the narrowest field holding it, or else its layer.
  function fieldAt(i) {
    var best = null, width = Infinity;
    details.querySelectorAll(".f[data-s]").forEach(function (f) {
      var s = +f.dataset.s, e = +f.dataset.e;
      if (s <= i && i <= e && e - s < width) {
        best = f;
        width = e - s;
      }
    });
    if (best) return best;
    var heads = details.querySelectorAll(".lh[data-s]");
    for (var k = heads.length - 1; k >= 0; k--) {
      if (+heads[k].dataset.s <= i && i <= +heads[k].dataset.e) return heads[k];
    }
    return null;
  }
  function lightByte(i) {
    var f = fieldAt(i);
    if (f) lightElement(f, true);
    else light(i, i);
  }
  bytesPane.addEventListener("mouseover", function (e) {
    var c = e.target.closest(".b");
    if (c) lightByte(+c.dataset.i);
    else restore();
  });
  bytesPane.addEventListener("mouseleave", restore);
  bytesPane.addEventListener("click", function (e) {
    var c = e.target.closest(".b");
    if (!c) return;
    var f = fieldAt(+c.dataset.i);
    if (f) {
      pinned = f;
      f.focus();
    }
  });
  bytesPane.addEventListener("keydown", function (e) {
    var n = cells.hex.length;
    var step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 16, ArrowUp: -16 }[e.key];
    if (!n || step === undefined) return;
    e.preventDefault();
    if (cursor >= 0) {
      cells.hex[cursor].classList.remove("cur");
      cells.asc[cursor].classList.remove("cur");
    }
    cursor = cursor < 0 ? 0 : Math.max(0, Math.min(n - 1, cursor + step));
    cells.hex[cursor].classList.add("cur");
    cells.asc[cursor].classList.add("cur");
    lightByte(cursor);
    if (litField) litField.scrollIntoView({ block: "nearest" });
  });
  bytesPane.addEventListener("blur", function () {
    if (cursor >= 0) {
      cells.hex[cursor].classList.remove("cur");
      cells.asc[cursor].classList.remove("cur");
    }
    cursor = -1;
    restore();
  });

  // Messages, each with the packets that carried it: written out whole when
  // there are not too many, else drawn a screenful at a time like the packets.
  var box = $("conns"), STATIC_ROWS = 2000, mrows = [];
  conns.forEach(function (records, stream) {
    var n = 0;
    mrows.push({ stream: stream, records: records });
    records.forEach(function (r) {
      mrows.push({ r: r, n: r.type === "message" ? ++n : 0 });
    });
  });
  function messageText(r, limit) {
    var text = visible(r.text), more = (r.omitted || 0) + Math.max(0, text.length - limit);
    return more ? text.slice(0, limit) + "\u2026 (" + more + " more characters)" : text;
  }
  function messageMeta(r) {
    var packets = r.packets || [],
      meta = el(
        "span",
        "meta",
        " " + r.bytes + " bytes; packet" + (packets.length === 1 ? " " : "s "),
      );
    packets.forEach(function (n, k) {
      if (k) meta.appendChild(document.createTextNode(" "));
      var b = el("button", "pk", String(n));
      b.type = "button";
      b.dataset.n = n;
      b.setAttribute("aria-label", "show packet " + n);
      meta.appendChild(b);
    });
    return meta;
  }
  function connTitle(m) {
    var count = m.records.filter(function (r) {
      return r.type === "message";
    }).length;
    return (m.stream ? visible(m.stream) : "(no connection)") + "  \u00b7  " + count + " message" +
      (count === 1 ? "" : "s");
  }
  if (!conns.size) box.appendChild(el("p", "meta", "No framecat messages were found."));
  else if (mrows.length <= STATIC_ROWS) {
    conns.forEach(function (records, stream) {
      var sec = el("section", "conn"), ol = el("ol"), problems = el("ul");
      sec.appendChild(el("h3", "mono", stream ? visible(stream) : "(no connection)"));
      records.forEach(function (r) {
        if (r.type === "problem") {
          problems.appendChild(el("li", "problem", "problem: " + show(r.reason)));
          return;
        }
        var li = el("li");
        li.appendChild(el("code", "msg", messageText(r, 4000)));
        li.appendChild(messageMeta(r));
        ol.appendChild(li);
      });
      if (ol.children.length) sec.appendChild(ol);
      if (problems.children.length) sec.appendChild(problems);
      box.appendChild(sec);
    });
  } else {
    var mlist = el("div", "vlist"),
      mspacer = el("div", "spacer"),
      full = el("pre", "mfull"),
      mDrawn = false;
    mlist.id = "mlist";
    mlist.tabIndex = 0;
    mlist.setAttribute("aria-label", "Messages by connection");
    mspacer.style.height = mrows.length * ROW + "px";
    mlist.appendChild(mspacer);
    full.id = "mfull";
    full.setAttribute("aria-live", "polite");
    box.appendChild(
      el(
        "p",
        "meta screen-only",
        "Too many to show at once: scroll, and click a message to read it whole.",
      ),
    );
    box.appendChild(
      el(
        "p",
        "print-only",
        nMessages + " messages: too many to print; framecat dissect FILE prints them all.",
      ),
    );
    box.appendChild(mlist);
    box.appendChild(full);
    var drawMessages = function () {
      mDrawn = false;
      var top = mlist.scrollTop, height = mlist.clientHeight || 400;
      var from = Math.max(0, Math.floor(top / ROW) - 5),
        to = Math.min(mrows.length, Math.ceil((top + height) / ROW) + 5);
      var frag = document.createDocumentFragment();
      for (var i = from; i < to; i++) {
        var m = mrows[i], row;
        if (m.records) row = el("div", "mrow mh mono", connTitle(m));
        else if (m.r.type === "problem") {
          row = el("div", "mrow problem", "problem: " + show(m.r.reason));
        } else {
          row = el("div", "mrow");
          row.appendChild(el("span", "mn", m.n + "."));
          var code = el("code", "msg", messageText(m.r, 300));
          code.dataset.row = i;
          row.appendChild(code);
          row.appendChild(messageMeta(m.r));
        }
        row.style.top = i * ROW + "px";
        frag.appendChild(row);
      }
      mspacer.replaceChildren(frag);
    };
    mlist.addEventListener("scroll", function () {
      if (!mDrawn) {
        mDrawn = true;
        requestAnimationFrame(drawMessages);
      }
    });
    mlist.addEventListener("click", function (e) {
      var code = e.target.closest("code.msg");
      if (code) full.textContent = messageText(mrows[+code.dataset.row].r, 100000);
    });
    drawMessages();
  }
  others.forEach(function (r) {
    box.appendChild(el("p", "meta", visible(JSON.stringify(r))));
  });
  box.addEventListener("click", function (e) {
    var b = e.target.closest("button.pk");
    if (!b) return;
    var i = indexOf(+b.dataset.n);
    if (i < 0) return;
    select(i);
    list.focus({ preventScroll: true });
    $("packets").scrollIntoView({ block: "start" });
  });

  // Printed, the list is a table of every packet when there are not too many.
  var table = $("print-list");
  if (total && total <= PRINT_MAX) {
    var head = el("tr");
    ["No.", "Time", "Source", "Destination", "Protocol", "Length", "Info"].forEach(function (h) {
      head.appendChild(el("th", "", h));
    });
    table.appendChild(head);
    for (var i = 0; i < total; i++) {
      var tr = el("tr");
      summary(packet(i)).forEach(function (text) {
        tr.appendChild(el("td", "", text));
      });
      table.appendChild(tr);
    }
  } else if (total) {
    table.replaceWith(
      el("p", "print-only", total + " packets: too many to print; the chosen packet follows."),
    );
  }

  $("summary").textContent = total + " packet" + (total === 1 ? "" : "s") + ", " + nMessages +
    " framecat message" +
    (nMessages === 1 ? "" : "s") + " in " + conns.size + " direction" +
    (conns.size === 1 ? "" : "s") +
    (nProblems ? ", " + nProblems + " problem" + (nProblems === 1 ? "" : "s") : "") +
    ".";
  $("hint").textContent =
    "Arrow keys move between packets; hover or focus a field to see its bytes, or a byte to see its field.";
  fileProblems.forEach(function (reason) {
    $("summary").parentNode.after(
      el(
        "p",
        "problem",
        "The capture is broken: " + show(reason) + ". What could be read is shown.",
      ),
    );
  });
  draw();
  if (total) select(firstShown());
  else {
    list.style.height = "auto";
    list.appendChild(el("p", "meta", "No packets in this capture."));
    bytesPane.hidden = true;
  }
  document.documentElement.dataset.ready = "true";
  performance.mark("framecat-ready");
})();
