// The certificate page's check, in the reader's browser, of what the certificate claims (Web Crypto only):
// the ledger entry's leaf hash (RFC 9162: SHA-256(0x00 || body)), its inclusion proof up to the checkpoint's
// root (RFC 9162 §2.1.3.2), the checkpoint's Ed25519 signature by the registry's key (C2SP signed-note), and
// that the entry is the retirement the certificate states (ranges, quantity, account, reason, beneficiary,
// a private name against its salted commitment). The same checks as `tanhui certificate verify`; the page
// shows the key it checked against, to compare with one obtained elsewhere: a script served by the registry
// cannot vouch for the registry, the command and the published key can.
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

  // A verifier key line: <name>+<8 hex digits of key id>+<base64(0x01 || 32-byte Ed25519 key)>.
  function parseKey(line) {
    var parts = line.trim().split("+");
    if (parts.length < 3) throw fail("key", "not a verifier key line");
    var name = parts[0], id = parts[1], key = bytesFromBase64(parts.slice(2).join("+"));
    if (!/^[0-9a-fA-F]{8}$/.test(id) || key.length !== 33 || key[0] !== 1) throw fail("key", "not an Ed25519 verifier key");
    return { name: name, id: bytesFromHex(id.toLowerCase()), raw: key.slice(1), line: line.trim() };
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
    var signature = null;
    note.slice(cut + 2).split("\n").forEach(function (line) {
      var prefix = "\u2014 " + key.name + " ";
      if (signature || line.indexOf(prefix) !== 0) return;
      var raw = bytesFromBase64(line.slice(prefix.length));
      if (raw.length === 68 && equal(raw.slice(0, 4), key.id)) signature = raw.slice(4);
    });
    if (!signature) throw fail("signature", "no signature by the registry's key");
    return crypto.subtle.importKey("raw", key.raw, { name: "Ed25519" }, false, ["verify"])
      .catch(function () { throw fail("unsupported", "this browser has no Ed25519 in Web Crypto"); })
      .then(function (publicKey) { return crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, encoder.encode(text)); })
      .then(function (ok) {
        if (!ok) throw fail("signature", "the checkpoint's signature does not verify");
        return { origin: lines[0], size: Number(size), root: root };
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

  // Everything, from the certificate document (with its "proof") and the registry's key line.
  function verify(certificate, keyLine) {
    return Promise.resolve().then(function () {
      if (!window.crypto || !crypto.subtle) throw fail("unsupported", "no Web Crypto in this browser");
      var key = parseKey(keyLine), proof = certificate.proof;
      if (!proof || proof.seq !== certificate.seq) throw fail("entry", "the proof is not of this certificate's entry");
      var path = proof.inclusion.map(bytesFromHex);
      if (path.some(function (node) { return node.length !== 32; })) throw fail("proof", "a proof hash is not 32 bytes");
      return openCheckpoint(proof.checkpoint, key).then(function (checkpoint) {
        return sha256(concat(new Uint8Array([0]), encoder.encode(proof.body)))
          .then(function (leaf) { return rootFromInclusion(proof.seq, checkpoint.size, leaf, path); })
          .then(function (root) {
            if (!equal(root, checkpoint.root)) throw fail("proof", "the inclusion proof does not lead to the checkpoint's root");
            return checkEntry(certificate, proof.body);
          })
          .then(function () { return { ok: true, seq: proof.seq, size: checkpoint.size, origin: checkpoint.origin, key: key.line }; });
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
    if (result.ok) box.querySelector(".check-key").textContent = result.key;
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
    Promise.all([get(box.getAttribute("data-certificate"), "json"), get(box.getAttribute("data-key"), "text")])
      .then(function (got) { return verify(got[0], got[1]); }, function (error) {
        return { ok: false, code: "fetch", detail: error.message };
      })
      .then(function (result) { show(box, result); });
  });
})();
