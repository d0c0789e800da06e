// Mounts Stripe's Payment Element for the order's PaymentIntent and confirms it in the browser.
// The order is fulfilled by the signed webhook, never by this page: after confirming, Stripe sends the
// buyer back to the order page (return_url), which shows the certificate once the webhook has arrived.
(function () {
  "use strict";
  var form = document.getElementById("stripe-payment-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret, locale: document.documentElement.lang });
  var payment = elements.create("payment");
  payment.mount("#stripe-payment-element");
  var errorBox = document.getElementById("stripe-payment-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("stripe-pay").disabled = true;
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        if (result.error) {
          errorBox.textContent = result.error.message;
          errorBox.hidden = false;
          document.getElementById("stripe-pay").disabled = false;
        }
      });
  });
})();
