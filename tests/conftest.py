"""Suite-wide setup: the tests that Ctrl-C a gdlab subprocess need SIGINT live in it."""

import signal

# A CI script that starts the suite as a background job (`make test &`) hands it SIGINT ignored, and every
# gdlab subprocess inherits that (gdlab honours it, as a background job should), so those tests hung until
# their timeouts. In a terminal SIGINT is live: make it so here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
