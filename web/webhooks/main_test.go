package webhooks_test

import (
	"os"
	"testing"

	"github.com/uplink-video/uplink/store/storetest"
)

// TestMain runs the tests on the engine the environment asks for
// (storetest.EnvPostgres), SQLite by default.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
