// Small helpers only; every page works without JavaScript.
