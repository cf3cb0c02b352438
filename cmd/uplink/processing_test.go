package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/media"
)

// TestProcessingSettings reads the processing settings from flags and the
// environment, and refuses bad values with a message naming the setting.
func TestProcessingSettings(t *testing.T) {
	c, err := parseServe(nil, envFunc(map[string]string{
		"UPLINK_PROCESSING_WORKERS": "2", "UPLINK_PREVIEWS": "all", "UPLINK_FFMPEG_DIR": "/opt/ffmpeg/bin",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := processingConfig{ffmpegDir: "/opt/ffmpeg/bin", workers: 2, previews: "all", timeout: 2 * time.Hour, memory: 4 << 30, threads: media.SpareCoreThreads()}
	if c.processing != want {
		t.Errorf("processing=%+v, want=%+v", c.processing, want)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--processing-workers", "0"}, "--processing-workers"},
		{[]string{"--previews", "some"}, "--previews"},
		{[]string{"--processing-memory", "10MiB"}, "--processing-memory"},
		{[]string{"--processing-threads", "0"}, "--processing-threads"},
	} {
		if _, err := parseServe(tt.args, envFunc(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err=%v, want one naming %s", tt.args, err, tt.want)
		}
	}
}
