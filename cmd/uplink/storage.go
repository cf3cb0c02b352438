package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/s3store"
)

// storageFlags say where uploaded bytes are kept: the data directory's
// blobs folder by default, or an S3-compatible bucket. The endpoint,
// region and credentials come from the usual AWS_* environment variables,
// as the AWS tools read them; a flag overrides its variable.
type storageFlags struct {
	blobs                 *string
	endpoint, region      *string
	accessKey, secretKey  *string
	pathStyle, equalParts *bool
	equalPartSize         *string
}

func addStorageFlags(fs *flagSet) storageFlags {
	return storageFlags{
		blobs:         fs.String("blobs", "UPLINK_BLOBS", "", "where uploaded bytes are kept: s3://bucket/prefix for an S3-compatible bucket (default: the blobs folder in --data)"),
		endpoint:      fs.String("s3-endpoint", "AWS_ENDPOINT_URL", "", "base URL of the S3-compatible server, such as http://127.0.0.1:7070 or https://ACCOUNT.r2.cloudflarestorage.com (default: AWS S3)"),
		region:        fs.String("s3-region", "AWS_REGION", "", "region to sign S3 requests for (default us-east-1; auto for R2)"),
		accessKey:     fs.String("s3-access-key-id", "AWS_ACCESS_KEY_ID", "", "S3 access key ID (prefer the environment variable)"),
		secretKey:     fs.String("s3-secret-access-key", "AWS_SECRET_ACCESS_KEY", "", "S3 secret access key (prefer the environment variable: flags show in the process list)"),
		pathStyle:     fs.Bool("s3-path-style", "UPLINK_S3_PATH_STYLE", false, "address the bucket in the URL's path (host/bucket/key) rather than its host name, as most self-hosted servers need"),
		equalParts:    fs.Bool("s3-equal-parts", "UPLINK_S3_EQUAL_PARTS", false, "assemble every object from parts of one size, as Cloudflare R2 requires (costs a server-side copy of each upload)"),
		equalPartSize: fs.String("s3-equal-part-size", "UPLINK_S3_EQUAL_PART_SIZE", "", "the size of those parts, 5MiB to 5GiB (default: the smallest part written)"),
	}
}

// storageConfig is the validated form of storageFlags.
type storageConfig struct {
	// s3 is the bucket's configuration; nil keeps the bytes on disk.
	s3 *s3store.Config
}

func (f storageFlags) config() (storageConfig, error) {
	if *f.blobs == "" {
		return storageConfig{}, nil
	}
	if !strings.HasPrefix(*f.blobs, "s3://") {
		return storageConfig{}, fmt.Errorf("invalid --blobs %q: want s3://bucket/prefix, or nothing for the data directory", *f.blobs)
	}
	c, err := s3store.ParseURL(*f.blobs)
	if err != nil {
		return storageConfig{}, fmt.Errorf("invalid --blobs: %w", err)
	}
	c.Endpoint, c.Region = strings.TrimRight(*f.endpoint, "/"), *f.region
	c.AccessKey, c.SecretKey = *f.accessKey, *f.secretKey
	c.PathStyle, c.EqualParts = *f.pathStyle, *f.equalParts
	if c.Endpoint != "" && !validHTTPURL(c.Endpoint) {
		return storageConfig{}, fmt.Errorf("invalid --s3-endpoint %q: want an absolute http or https URL", c.Endpoint)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return storageConfig{}, fmt.Errorf("--s3-access-key-id and --s3-secret-access-key go together")
	}
	if *f.equalPartSize != "" {
		n, err := parseSize(*f.equalPartSize)
		if err != nil || n < 5<<20 || n > 5<<30 {
			return storageConfig{}, fmt.Errorf("invalid --s3-equal-part-size %q: want a size from 5MiB to 5GiB", *f.equalPartSize)
		}
		c.EqualPartSize = n
	}
	return storageConfig{s3: &c}, nil
}

// openBlobs opens where the bytes are kept: the bucket, after checking
// it can be reached, or the data directory's blobs folder.
func openBlobs(ctx context.Context, dataDir string, c storageConfig) (blob.Store, error) {
	if c.s3 != nil {
		return s3store.New(ctx, *c.s3)
	}
	return blob.NewDir(filepath.Join(dataDir, "blobs"))
}
