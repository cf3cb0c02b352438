// Package s3store keeps uplink's blobs in a bucket of any S3-compatible
// server: AWS S3, Cloudflare R2, SeaweedFS, versitygw, MinIO and the like.
//
// An object is stored under the key Config.Prefix + its blob key, and a
// blob multipart upload is an S3 multipart upload of that key. Every byte
// passes through as a stream: a write of known length is one request with
// its Content-Length set, and nothing is staged on local disk or held
// whole in memory (see Store.Put for the one buffered case, a write of
// unknown length). Assembling an object from parts written aside, and
// adopting an object as a part, are server-side copies: the bytes never
// come back through uplink.
//
// # The client library
//
// The store speaks S3 through github.com/aws/aws-sdk-go-v2/service/s3
// rather than github.com/minio/minio-go/v7. Its operations map one to one
// onto S3's (UploadPartCopy with a source range, ListMultipartUploads with
// markers), its errors carry the server's code, and it does nothing behind
// the caller's back: minio-go's high-level PutObject buffers parts of its
// own choosing for bodies of unknown length, and the low-level Core API
// that avoids this is the less documented half of that library. Two of the
// SDK's defaults do not suit self-hosted servers and are turned off: the
// request checksums that it adds to every upload since 2025 (sent as
// aws-chunked trailers, which several S3-compatible servers reject), and
// the signing of the payload, which needs a seekable body and so a second
// pass over it; bodies are sent as UNSIGNED-PAYLOAD instead, which every
// S3 server accepts.
//
// # Servers that differ
//
// Cloudflare R2 refuses to complete a multipart upload whose parts, but
// the last, differ in size, and uplink's parts can: the client chooses
// them. With Config.EqualParts the store writes every part aside as an
// object of its own and assembles the object at completion from ranges
// of those objects, copied server-side into parts of one size (see
// equal.go for how and at what cost).
//
// versitygw's posix backend stores a body that ends early, at a closed
// connection, as if it were whole. The store's HTTP client therefore
// resets a connection whose request body failed (see newHTTPClient), and
// checks the size of an object it completes.
//
// SeaweedFS keeps a part that was written twice twice in its part listing.
// The store never lists parts: it completes from the ETags the metadata
// store recorded, which name the write that counts.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/uplink-video/uplink/store/blob"
)

// Config says where the blobs are and how to reach them. cmd/uplink fills
// it from its flags and the usual AWS_* environment variables.
type Config struct {
	// Bucket is the bucket's name. It must exist.
	Bucket string
	// Prefix is prepended to every key: "videos/" keeps the blobs under
	// that folder. Empty puts them at the bucket's root. The store lists
	// only the keys directly under it.
	Prefix string
	// Endpoint is the server's base URL, such as "http://127.0.0.1:7070"
	// or "https://ACCOUNT.r2.cloudflarestorage.com". Empty means AWS S3 in
	// Region.
	Endpoint string
	// Region is the region to sign requests for; "us-east-1" when empty.
	// R2 takes "auto".
	Region string
	// AccessKey and SecretKey sign the requests. Both empty sends
	// anonymous requests.
	AccessKey string
	SecretKey string
	// PathStyle addresses the bucket in the path (host/bucket/key) rather
	// than in the host name (bucket.host/key), as servers on localhost or
	// behind a plain IP address need.
	PathStyle bool
	// EqualParts assembles every object from parts of one size, as
	// Cloudflare R2 requires (see equal.go).
	EqualParts bool
	// EqualPartSize is the size of those parts, at least 5 MiB; zero
	// picks the smallest part written (but the last), or larger if the
	// object would need more than 10,000 parts.
	EqualPartSize int64
	// HTTPClient sends the requests. Nil uses a client that resets its
	// connection when a request body fails (see newHTTPClient); a client
	// given here should do the same, and is the way to use a proxy.
	HTTPClient *http.Client
	// Observe, when set, is called after each S3 call the store makes,
	// with the SDK's name of the operation ("UploadPart"), the time the
	// call took with its retries, and its error. uplink counts and times
	// them in its metrics.
	Observe func(operation string, d time.Duration, err error)
}

// ParseURL parses the --blobs flag's form "s3://bucket/prefix" into the
// bucket and the key prefix of a Config (a prefix gets its trailing
// slash). "s3://bucket" and "s3://bucket/" are the bucket's root.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("s3store: %q is not an s3://bucket/prefix URL: %w", s, err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Config{}, fmt.Errorf("s3store: %q is not an s3://bucket/prefix URL", s)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if strings.Contains(prefix, "//") {
		return Config{}, fmt.Errorf("s3store: %q has an empty folder in its prefix", s)
	}
	return Config{Bucket: u.Host, Prefix: prefix}, nil
}

// Store is a blob.Store in an S3 bucket. It is safe for concurrent use.
type Store struct {
	client *s3.Client
	bucket string
	prefix string
	// equal and equalSize are Config.EqualParts and EqualPartSize.
	equal     bool
	equalSize int64
}

var _ blob.Store = (*Store)(nil)

// New returns a Store on the bucket that cfg names, after checking that
// the bucket can be reached with cfg's credentials.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3store: no bucket given")
	}
	if cfg.EqualPartSize != 0 && (cfg.EqualPartSize < minPartSize || cfg.EqualPartSize > maxCopySize) {
		return nil, fmt.Errorf("s3store: equal part size %d is outside 5 MiB to 5 GiB", cfg.EqualPartSize)
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: cfg.PathStyle,
		// Checksums only where an operation needs one (DeleteObjects):
		// the default adds them to every upload as aws-chunked trailers,
		// which several S3-compatible servers refuse.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMode:                  aws.RetryModeStandard,
		RetryMaxAttempts:           3,
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds := aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, Source: "s3store.Config"}
		opts.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	}
	if cfg.Observe != nil {
		opts.APIOptions = append(opts.APIOptions, observe(cfg.Observe))
	}
	opts.HTTPClient = cfg.HTTPClient
	if cfg.HTTPClient == nil {
		opts.HTTPClient = newHTTPClient()
	}
	s := &Store{
		client:    s3.New(opts),
		bucket:    cfg.Bucket,
		prefix:    cfg.Prefix,
		equal:     cfg.EqualParts,
		equalSize: cfg.EqualPartSize,
	}
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return nil, fmt.Errorf("s3store: bucket %s: %w", cfg.Bucket, err)
	}
	return s, nil
}

// Ping checks that the bucket answers with the store's credentials (for
// uplink's /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("s3store: bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Limits of S3's multipart uploads.
const (
	// minPartSize is the smallest part but the last.
	minPartSize = 5 << 20
	// maxCopySize is the most one UploadPartCopy copies.
	maxCopySize = 5 << 30
)

// objectKey returns the S3 key of the blob key, which must be one that
// NewKey could have made: keys stay within the prefix.
func (s *Store) objectKey(key string) (string, error) {
	if !blob.ValidKey(key) {
		return "", fmt.Errorf("s3store: invalid key %q", key)
	}
	return s.prefix + key, nil
}

// blobKey returns the blob key of an S3 key under the prefix, and whether
// it is one: keys in folders under the prefix, or of other names, are
// not the store's.
func (s *Store) blobKey(objectKey string) (string, bool) {
	key, ok := strings.CutPrefix(objectKey, s.prefix)
	return key, ok && blob.ValidKey(key)
}

// observe adds a step at the start of every operation's middleware stack
// that times the whole call, its retries and its body included, and
// reports it to f.
func observe(f func(string, time.Duration, error)) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("uplinkObserve",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				f(awsmiddleware.GetOperationName(ctx), time.Since(start), err)
				return out, md, err
			}), middleware.Before)
	}
}

// unsigned sends an operation's body as UNSIGNED-PAYLOAD, so that it is
// streamed once instead of read twice (once to hash it), and need not be
// seekable.
func unsigned(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// wrapErr adds context to an S3 error and maps the server's codes onto
// blob's sentinels.
func wrapErr(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("s3store: %s %s: %w (%w)", op, key, blob.ErrNotFound, err)
	case isNoSpace(err):
		return fmt.Errorf("s3store: %s %s: %w (%w)", op, key, blob.ErrNoSpace, err)
	}
	return fmt.Errorf("s3store: %s %s: %w", op, key, err)
}

// errorCode returns the S3 error code of err, and its HTTP status, where
// the server sent them.
func errorCode(err error) (string, int) {
	code, status := "", 0
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// isNotFound reports whether err says that an object is missing. A HEAD
// request has no body to carry a code: its 404 is "NotFound".
func isNotFound(err error) bool {
	code, _ := errorCode(err)
	return code == "NoSuchKey" || code == "NotFound"
}

// isNoSuchUpload reports whether err says that a multipart upload is gone
// (completed or aborted), or was never there.
func isNoSuchUpload(err error) bool {
	code, _ := errorCode(err)
	return code == "NoSuchUpload"
}

// isNoSpace reports whether err says that the server is full or the
// account over its quota. S3 itself has no such error; the codes are
// those of the servers that have one: versitygw (InsufficientStorage,
// QuotaExceeded), MinIO (XMinioStorageFull) and 507 Insufficient Storage
// from any.
func isNoSpace(err error) bool {
	code, status := errorCode(err)
	switch code {
	case "InsufficientStorage", "QuotaExceeded", "XMinioStorageFull", "StorageFull", "XMinioAdminBucketQuotaExceeded":
		return true
	}
	return status == http.StatusInsufficientStorage
}

// newHTTPClient returns the HTTP client for the S3 requests. Its
// connections are reset (TCP RST), not closed, when the HTTP client drops
// them, which it does when a request body fails midway (blob.ErrLength, a
// client's upload cut off). A plain close sends the server an end of
// stream, and some servers (versitygw's posix backend) take a body that
// ends early at an end of stream as whole, and store it: the truncated
// object or part would then be there. A reset is an error on any server,
// so a request whose body failed never looks complete. Idle connections
// are reset too when dropped, which costs nothing.
//
// It takes no proxy from the environment: this package reads none.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				err = errors.Join(err, tc.SetLinger(0))
			}
			return c, err
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2 * copyWorkers,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}
