"""The witness's HTTP service (c2sp.org/tlog-witness), served by ``tanhui witness serve``.

A separate, small app: a witness runs on its own machine with its own key and state file, and knows
nothing of the registry's database. ``POST /add-checkpoint`` is the protocol's one call (submission
prefix = this app's root); ``GET /`` says, in plain text, who the witness is and which logs it witnesses
with the size each was last cosigned at, for the operators of those logs.
"""

from __future__ import annotations

from flask import Flask, Response, request

from ledger.checkpoint_witness import (
    ADD_CHECKPOINT_PATH,
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    CheckpointWitness,
    WitnessRefusal,
)

TEXT = "text/plain; charset=utf-8"


def create_witness_app(witness: CheckpointWitness) -> Flask:
    app = Flask("tanhui.witness")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    @app.post(ADD_CHECKPOINT_PATH)
    def add_checkpoint() -> Response:
        try:
            lines = witness.add_checkpoint(request.get_data(cache=False))
        except WitnessRefusal as refusal:
            if refusal.size is not None:
                return Response(f"{refusal.size}\n", status=refusal.status, content_type=SIZE_CONTENT_TYPE)
            return Response(refusal.message + "\n", status=refusal.status, content_type=TEXT)
        return Response(lines, status=200, content_type=TEXT)

    @app.get("/")
    def about() -> Response:
        lines = [f"witness {witness.cosigner.name}", f"cosigner key {witness.cosigner.vkey}"]
        cosigned = dict(witness.store.cosigned_sizes())
        for origin in sorted(witness.logs):
            size = f"cosigned at size {cosigned[origin]}" if origin in cosigned else "never cosigned"
            lines.append(f"log {origin}: {size}")
        return Response("".join(line + "\n" for line in lines), content_type=TEXT)

    return app
