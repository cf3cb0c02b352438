package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Target is the S3 server and bucket that a run writes to.
type s3Target struct {
	Endpoint  string
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
	client    *s3.Client
}

// newS3Client returns a client configured as store/blob/s3store
// configures its own, so that (s1) and (s4) measure the same library
// doing the same requests: path-style addressing, checksums only where
// an operation requires one, and bodies sent as UNSIGNED-PAYLOAD. The
// HTTP transport keeps enough idle connections for four parts at once.
func newS3Client(t *s3Target) *s3.Client {
	creds := aws.Credentials{AccessKeyID: t.AccessKey, SecretAccessKey: t.SecretKey, Source: "uplinkbench"}
	return s3.New(s3.Options{
		Region:                     t.Region,
		BaseEndpoint:               aws.String(t.Endpoint),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Credentials:                aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:                 &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, ForceAttemptHTTP2: true}},
	})
}

// unsignedPayload sends an operation's body unsigned, as s3store does:
// signing it would read every part twice.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// uploadS3 uploads size bytes of file (from its start) to key as one S3
// multipart upload in 16 MiB parts, at most `parallel` parts at a time,
// and returns each UploadPart call's duration, in part order. A failed
// upload is aborted.
func uploadS3(ctx context.Context, c *s3.Client, bucket, key string, file *os.File, size int64, parallel int) ([]time.Duration, error) {
	mu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("CreateMultipartUpload %s: %w", key, err)
	}
	total := partCount(size)
	parts := make([]types.CompletedPart, total)
	took := make([]time.Duration, total)
	errs := make([]error, total)
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for n := range next {
				off := int64(n-1) * partSize
				length := min(partSize, size-off)
				began := time.Now()
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{
					Bucket: &bucket, Key: &key, UploadId: mu.UploadId,
					PartNumber: aws.Int32(int32(n)), ContentLength: aws.Int64(length),
					Body: io.NewSectionReader(file, off, length),
				}, unsignedPayload)
				took[n-1] = time.Since(began)
				if err != nil {
					errs[n-1] = fmt.Errorf("UploadPart %d/%d: %w", n, total, err)
					continue
				}
				parts[n-1] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(n))}
			}
		})
	}
	for n := 1; n <= total && ctx.Err() == nil; n++ {
		next <- n
	}
	close(next)
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		_, _ = c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: mu.UploadId})
		return nil, err
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: mu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return nil, fmt.Errorf("CompleteMultipartUpload %s: %w", key, err)
	}
	return took, nil
}

// objectSHA256 reads an object back and returns its SHA-256 and length.
func objectSHA256(ctx context.Context, c *s3.Client, bucket, key string) (string, int64, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return "", 0, fmt.Errorf("GetObject %s: %w", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// deletePrefix deletes every object under prefix, and aborts every
// multipart upload left open under it, so that the server's disk holds
// one run's bytes at a time.
func deletePrefix(ctx context.Context, c *s3.Client, bucket, prefix string) error {
	objects := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for objects.HasMorePages() {
		page, err := objects.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				return fmt.Errorf("delete %s: %w", aws.ToString(o.Key), err)
			}
		}
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		return fmt.Errorf("list multipart uploads %s: %w", prefix, err)
	}
	for _, u := range ups.Uploads {
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
			return fmt.Errorf("abort %s: %w", aws.ToString(u.Key), err)
		}
	}
	return nil
}
