"""Payment providers behind one interface: the offline invoice provider and Stripe.

:mod:`~marketplace.payments.provider` is the interface, :mod:`~marketplace.payments.invoice` the offline
default and :mod:`~marketplace.payments.stripe_provider` Stripe; :mod:`~marketplace.payments.settlement`
applies what a provider reports to an order, and :mod:`~marketplace.payments.refunds` delivers the
refunds it owes after the commit that made them owed.
"""
