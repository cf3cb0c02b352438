package web_test

import (
	"path/filepath"
	"testing"

	"github.com/uplink-video/uplink/static/jstest"
)

// TestUploaderScriptTests runs the uploader's own tests under Node's
// test runner (static/js/*.test.mjs: the upload engine against a fake
// transport, the type check, the page's words), as
// "node --test static/js/" does. The files are named rather than the
// directory, because Node's versions disagree on how they search one.
func TestUploaderScriptTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(jstest.Dir(), "*.test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.test.mjs in %s", jstest.Dir())
	}
	args := []string{"--test"}
	for _, f := range files {
		args = append(args, filepath.Base(f))
	}
	out := jstest.Run(t, nil, args...)
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
