// Package e2e holds uplink's browser tests: headless Chromium, driven from
// Go with chromedp, against the real application (web.New) on a loopback
// httptest server, with SQLite and blobs in a temporary directory.
//
// The tests need /usr/bin/chromium. Without it they skip, except in CI
// (CI=true), where they fail, so that a missing browser cannot pass
// unnoticed. Screenshots go to the directory named by
// UPLINK_TEST_ARTIFACTS, or to a temporary directory that is removed when
// the test ends.
//
// TestBadNetwork and TestBadNetworkAPI put toxiproxy, run in the test's
// process, between the client and uplink on loopback, and fault the
// network under an upload: latency and low bandwidth, resets, a stall,
// an outage, and (through an HTTP gateway of the test's own) a 502 page.
// They report each run's time and bytes on the wire against a clean run;
// -short skips them.
//
// The package has no code outside its tests.
package e2e
