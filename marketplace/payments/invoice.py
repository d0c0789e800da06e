"""The offline invoice provider, the embedded default: the buyer pays by bank transfer, the registry confirms.

Nothing leaves the registry: a payment's "instructions" say where to transfer the order's price and which
reference to quote; the registry confirms receipt with ``POST /api/v1/orders/<id>/invoice-payment``
(:func:`marketplace.order_store.record_invoice_payment`), and a refund is recorded as ``manual`` — the
registry transfers the money back itself, quoting the refund's request id.
"""

from __future__ import annotations

from marketplace.payments.provider import CURRENCY, ProviderRefund, StartedPayment

NAME = "invoice"
DEFAULT_PAYEE = "四川省林草碳汇登记中心"


class InvoiceProvider:
    """Instructions for a bank transfer; refunds paid back by the registry by hand."""

    def __init__(self, payee: str = DEFAULT_PAYEE) -> None:
        self.payee = payee

    @property
    def name(self) -> str:
        return NAME

    def start_payment(self, order_id: str, amount_fen: int, *, idempotency_key: str) -> StartedPayment:
        del idempotency_key  # the payment id is derived from the order: the same order, the same invoice
        return self._invoice(order_id, amount_fen)

    def resume_payment(self, provider_payment_id: str, *, order_id: str, amount_fen: int) -> StartedPayment:
        assert provider_payment_id == f"invoice:{order_id}", provider_payment_id
        return self._invoice(order_id, amount_fen)

    def cancel_payment(self, provider_payment_id: str) -> None:
        """Nothing to stop: a transfer that arrives anyway is confirmed and then refunded (late payment)."""

    def refund(
        self, provider_payment_id: str, amount_fen: int, *, idempotency_key: str, order_id: str
    ) -> ProviderRefund:
        del provider_payment_id, amount_fen, order_id  # the registry's transfer back names the request id
        return ProviderRefund(provider_refund_id=f"manual:{idempotency_key}", status="manual")

    def _invoice(self, order_id: str, amount_fen: int) -> StartedPayment:
        return StartedPayment(
            provider=NAME,
            provider_payment_id=f"invoice:{order_id}",
            amount_fen=amount_fen,
            currency=CURRENCY,
            status="awaiting_transfer",
            instructions=(
                f"请向{self.payee}转账 {_yuan(amount_fen)} 元，附言填写订单号 {order_id}。"
                f" / Transfer CNY {_yuan(amount_fen)} to {self.payee} quoting order {order_id}."
            ),
        )


def _yuan(amount_fen: int) -> str:
    """Fen as yuan with two decimals, by integer arithmetic (never a float near money)."""
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"
