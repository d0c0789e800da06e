// The certificate page's check, in the reader's browser, of what the certificate claims (Web Crypto only):
// the ledger entry's leaf hash (RFC 9162: SHA-256(0x00 || body)), its inclusion proof up to the checkpoint's
// root (RFC 9162 §2.1.3.2), the checkpoint's Ed25519 signature by the registry's key (C2SP signed-note), the
// cosignatures on it by the witnesses the registry lists (C2SP tlog-cosignature, cosignature/v1), and that
// the entry is the retirement the certificate states (ranges, quantity, account, reason, beneficiary, a
// private name against its salted commitment). The same checks as `tanhui certificate verify --witness`;
// the page shows the keys it checked against, to compare with ones obtained elsewhere: a script served by
// the registry cannot vouch for the registry, the command and the keys published by their owners can.
(function () {
  "use strict";

  var encoder = new TextEncoder();

  function fail(code, detail) {
    var error = new Error(detail || code);
    error.code = code;
    return error;
  }

  function bytesFromBase64(text) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw fail("format", "not base64");
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function bytesFromHex(text) {
    if (!/^([0-9a-f]{2})*$/.test(text)) throw fail("format", "not lowercase hex");
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function concat() {
    var total = 0, parts = Array.prototype.slice.call(arguments);
    parts.forEach(function (p) { total += p.length; });
    var out = new Uint8Array(total), at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  var LOG_KEY = 0x01, COSIGNER_KEY = 0x04;  // signed-note Ed25519; tlog-cosignature Ed25519 (cosignature/v1)
  var CLOCK_SKEW_S = 300;  // how far a witness's clock may run ahead of the reader's (ledger/cosignature.py)

  // A key line: <name>+<8 hex digits of key id>+<base64(type || 32-byte Ed25519 key)>, its key id being
  // SHA-256(name || "\n" || type || key)[:4]; a promise of the key, or a failure with the given code.
  function parseKey(line, type, code) {
    return Promise.resolve().then(function () {
      var parts = line.trim().split("+");
      if (parts.length < 3) throw fail(code, "not a key line: " + line);
      var name = parts[0], id = parts[1], key = bytesFromBase64(parts.slice(2).join("+"));
      if (!name || /[\s+]/.test(name) || !/^[0-9a-fA-F]{8}$/.test(id) || key.length !== 33 || key[0] !== type) {
        throw fail(code, "not an Ed25519 key of type " + type + ": " + line);
      }
      return sha256(concat(encoder.encode(name + "\n"), key)).then(function (digest) {
        if (hex(digest.slice(0, 4)) !== id.toLowerCase()) throw fail(code, "the key id does not match the key: " + line);
        return { name: name, id: bytesFromHex(id.toLowerCase()), raw: key.slice(1), line: line.trim() };
      });
    });
  }

  function ed25519Verify(raw, signature, message) {
    return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"])
      .catch(function () { throw fail("unsupported", "this browser has no Ed25519 in Web Crypto"); })
      .then(function (publicKey) { return crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, message); });
  }

  // The signatures under a note by the key of this name and id: their bytes after the key id.
  function signaturesBy(note, cut, key) {
    var prefix = "\u2014 " + key.name + " ", found = [];
    note.slice(cut + 2).split("\n").forEach(function (line) {
      if (line.indexOf(prefix) !== 0) return;
      var raw = bytesFromBase64(line.slice(prefix.length));
      if (raw.length > 4 && equal(raw.slice(0, 4), key.id)) found.push(raw.slice(4));
    });
    return found;
  }

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or a failure.
  function rootFromInclusion(index, size, leaf, path) {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
      return Promise.reject(fail("proof", "the entry is not inside the checkpoint's tree"));
    }
    var fn = index, sn = size - 1, step = Promise.resolve(leaf);
    path.forEach(function (node) {
      step = step.then(function (r) {
        if (sn === 0) throw fail("proof", "the inclusion proof is too long");
        var next;
        if (fn % 2 === 1 || fn === sn) {
          next = sha256(concat(new Uint8Array([1]), node, r));
          if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
        } else {
          next = sha256(concat(new Uint8Array([1]), r, node));
        }
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
        return next;
      });
    });
    return step.then(function (r) {
      if (sn !== 0) throw fail("proof", "the inclusion proof is too short");
      return r;
    });
  }

  // The signed checkpoint: its text (origin, size, base64 root), verified against the registry's key.
  function openCheckpoint(note, key) {
    var cut = note.lastIndexOf("\n\n");
    if (cut < 0) throw fail("signature", "the checkpoint carries no signatures");
    var text = note.slice(0, cut + 1);
    var lines = text.split("\n");
    if (lines.length < 4) throw fail("signature", "the checkpoint is not origin, size and root");
    var size = lines[1], root = bytesFromBase64(lines[2]);
    if (!/^(0|[1-9][0-9]*)$/.test(size) || root.length !== 32) throw fail("signature", "malformed checkpoint");
    var signature = signaturesBy(note, cut, key).filter(function (raw) { return raw.length === 64; })[0];
    if (!signature) throw fail("signature", "no signature by the registry's key");
    return ed25519Verify(key.raw, signature, encoder.encode(text)).then(function (ok) {
      if (!ok) throw fail("signature", "the checkpoint's signature does not verify");
      return { origin: lines[0], size: Number(size), root: root, note: note, cut: cut, text: text };
    });
  }

  // The listed witnesses' cosignatures of the checkpoint (c2sp.org/tlog-cosignature): each an 8-byte
  // big-endian POSIX time and the Ed25519 signature of "cosignature/v1\ntime <time>\n" and the note text.
  // As signed-note asks, one by a listed witness that does not verify, or is dated ahead of the reader's
  // clock, refuses the checkpoint; lines by other keys are ignored. The latest per witness key is kept.
  function checkCosignatures(checkpoint, witnesses, nowS) {
    var checks = [];
    witnesses.forEach(function (witness) {
      signaturesBy(checkpoint.note, checkpoint.cut, witness).forEach(function (raw) {
        if (raw.length !== 72) throw fail("cosignature", "a cosignature by " + witness.name + " is not 72 bytes");
        var time = raw.slice(0, 8).reduce(function (value, b) { return value * 256n + BigInt(b); }, 0n);
        if (time >= 2n ** 63n) throw fail("cosignature", "a cosignature by " + witness.name + " is dated beyond 2^63-1");
        if (time > BigInt(nowS + CLOCK_SKEW_S)) {
          throw fail("cosignature", "the cosignature by " + witness.name + " is dated in the future (" + time + ")");
        }
        var message = encoder.encode("cosignature/v1\ntime " + time + "\n" + checkpoint.text);
        checks.push(ed25519Verify(witness.raw, raw.slice(8), message).then(function (ok) {
          if (!ok) throw fail("cosignature", "the cosignature by " + witness.name + " does not verify");
          return { name: witness.name, key: witness.line, time: Number(time) };
        }));
      });
    });
    return Promise.all(checks).then(function (found) {
      var latest = {};
      found.forEach(function (item) {
        if (!latest[item.key] || latest[item.key].time < item.time) latest[item.key] = item;
      });
      return Object.keys(latest).sort().map(function (line) { return latest[line]; });
    });
  }

  // The entry states what the certificate says: a retirement of these ranges, for this beneficiary.
  function checkEntry(certificate, body) {
    var entry = JSON.parse(body);
    var data = entry.data || {};
    if (entry.kind !== "retire" || entry.seq !== certificate.seq) throw fail("entry", "the entry is not this retirement");
    var stated = (certificate.ranges || []).map(function (r) { return [r.batch, r.start, r.end].join(" "); });
    var proven = (data.ranges || []).map(function (r) { return [r.batch, r.start, r.end].join(" "); });
    if (stated.join(",") !== proven.join(",") || certificate.quantity_kg !== data.quantity_kg ||
        certificate.account !== data.account || certificate.reason !== data.reason) {
      throw fail("entry", "the certificate's ranges, quantity, account or reason differ from the entry");
    }
    var b = certificate.beneficiary || {}, e = data.beneficiary || {};
    if (e.public) {
      if (!b.public || b.name !== e.name) throw fail("entry", "the beneficiary differs from the entry");
      return Promise.resolve();
    }
    if (b.name === undefined) return Promise.resolve();  // a private name not shown: nothing to check
    var canonical = '{"name":' + JSON.stringify(b.name) + ',"salt":' + JSON.stringify(b.salt) + "}";
    return sha256(encoder.encode(canonical)).then(function (digest) {
      if (hex(digest) !== e.commitment) throw fail("entry", "the beneficiary's name does not match the entry's commitment");
    });
  }

  // Everything, from the certificate document (with its "proof"), the registry's key line and the listed
  // witnesses' cosigner key lines (text, one per line; empty when the registry lists none).
  function verify(certificate, keyLine, witnessLines, nowS) {
    var now = nowS === undefined ? Math.floor(Date.now() / 1000) : nowS;
    return Promise.resolve().then(function () {
      if (!window.crypto || !crypto.subtle) throw fail("unsupported", "no Web Crypto in this browser");
      var proof = certificate.proof;
      if (!proof || proof.seq !== certificate.seq) throw fail("entry", "the proof is not of this certificate's entry");
      var path = proof.inclusion.map(bytesFromHex);
      if (path.some(function (node) { return node.length !== 32; })) throw fail("proof", "a proof hash is not 32 bytes");
      var lines = (witnessLines || "").split("\n").filter(function (line) { return line.trim(); });
      return Promise.all([parseKey(keyLine, LOG_KEY, "key")].concat(lines.map(function (line) {
        return parseKey(line, COSIGNER_KEY, "witness-key");
      }))).then(function (keys) {
        var key = keys[0], checkpoint, witnessed;
        return openCheckpoint(proof.checkpoint, key)
          .then(function (opened) { checkpoint = opened; return checkCosignatures(opened, keys.slice(1), now); })
          .then(function (found) {
            witnessed = found;
            return sha256(concat(new Uint8Array([0]), encoder.encode(proof.body)));
          })
          .then(function (leaf) { return rootFromInclusion(proof.seq, checkpoint.size, leaf, path); })
          .then(function (root) {
            if (!equal(root, checkpoint.root)) throw fail("proof", "the inclusion proof does not lead to the checkpoint's root");
            return checkEntry(certificate, proof.body);
          })
          .then(function () {
            return { ok: true, seq: proof.seq, size: checkpoint.size, origin: checkpoint.origin, key: key.line, witnessed: witnessed };
          });
      });
    }).catch(function (error) {
      return { ok: false, code: error.code || "format", detail: error.message };
    });
  }

  window.tanhuiVerifyCertificate = verify;

  function show(box, result) {
    var say = function (name) { return box.getAttribute("data-" + name) || ""; };
    box.querySelector(".check-state").textContent = result.ok
      ? say("ok").replace("{seq}", result.seq).replace("{size}", result.size)
      : say("failed") + " " + (say("reason-" + result.code) || result.detail);
    box.className = "browser-check " + (result.ok ? "check-ok" : "check-failed");
    box.setAttribute("data-result", result.ok ? "ok" : result.code);
    if (!result.ok) return;
    box.querySelector(".check-key").textContent = result.key;
    var witnesses = box.querySelector(".check-witnesses");
    witnesses.textContent = result.witnessed.length
      ? say("witnessed").replace("{witnesses}", result.witnessed.map(function (item) {
        return item.name + " (" + new Date(item.time * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC)";
      }).join(", "))
      : say("unwitnessed");
    box.querySelector(".check-witness-keys").textContent = result.witnessed.map(function (item) { return item.key; }).join("\n");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("browser-check");
    if (!box) return;
    var get = function (url, kind) {
      return fetch(url, { credentials: "omit" }).then(function (response) {
        if (!response.ok) throw fail("fetch", url + ": " + response.status);
        return kind === "json" ? response.json() : response.text();
      });
    };
    Promise.all([
      get(box.getAttribute("data-certificate"), "json"),
      get(box.getAttribute("data-key"), "text"),
      get(box.getAttribute("data-witnesses"), "text"),
    ])
      .then(function (got) { return verify(got[0], got[1], got[2]); }, function (error) {
        return { ok: false, code: "fetch", detail: error.message };
      })
      .then(function (result) { show(box, result); });
  });
})();
