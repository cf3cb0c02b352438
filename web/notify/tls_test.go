package notify

import "testing"

// TestLoopback decides where STARTTLS may be skipped: only for a server
// on this machine.
func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.0.0.2": true, "::1": true,
		"mail.example.com": false, "10.0.0.5": false, "localhost.example.com": false, "": false,
	} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%q)=%v, want=%v", host, got, want)
		}
	}
}
