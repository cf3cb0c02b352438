package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery request.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	HeaderSignature = "Uplink-Signature"
	// HeaderEvent is the event's type, such as "upload.completed".
	HeaderEvent = "Uplink-Event"
	// HeaderEventID is the event's ID, the same for every endpoint,
	// retry and resend: receivers use it to ignore repeats.
	HeaderEventID = "Uplink-Event-Id"
	// HeaderDelivery is the delivery's number, for matching a request
	// with the dashboard's delivery log.
	HeaderDelivery = "Uplink-Delivery"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock before Verify refuses it.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrMalformedSignature = errors.New("webhooks: malformed Uplink-Signature header")
	ErrSignatureMismatch  = errors.New("webhooks: signature does not match the body")
	ErrSignatureTooOld    = errors.New("webhooks: signature timestamp is outside the tolerance")
)

// Sign returns the Uplink-Signature header value for body, signed with
// secret at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks an Uplink-Signature header against the raw request body
// and the endpoint's secret. The timestamp must be within tolerance of
// now (no check when tolerance is 0). The header may carry several v1
// signatures; one matching is enough. It returns ErrMalformedSignature,
// ErrSignatureTooOld or ErrSignatureMismatch.
//
// Verify the bytes as received, before decoding the JSON: re-encoding it
// changes them.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, field := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			return ErrMalformedSignature
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrMalformedSignature
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrMalformedSignature
			}
			sigs = append(sigs, sig)
		}
		// Other schemes are ignored, so that new ones can be added.
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformedSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrSignatureTooOld
		}
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
