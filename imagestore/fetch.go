package imagestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// blobFetcher downloads blobs itself, unverified, so that writeBlob's own
// checks see exactly what the registry sent and a lie is reported as one
// (*HostileError) rather than as a transport error. ggcr's transport does
// the authentication and picks http or https.
type blobFetcher struct {
	ctx    context.Context
	repo   name.Repository
	client *http.Client
}

// retryPolicy bounds the retries of one blob download: attempts in all,
// the first wait backoff, doubled after each failure.
type retryPolicy struct {
	attempts int
	backoff  time.Duration
}

// blobRetry is every pull's policy: about 4 s of waiting in all, which
// rides out a registry's restart or a dropped connection but not an
// outage.
var blobRetry = retryPolicy{attempts: 5, backoff: 250 * time.Millisecond}

func newBlobFetcher(ctx context.Context, repo name.Repository, insecure bool) (*blobFetcher, error) {
	auth, err := authn.DefaultKeychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("reading registry credentials: %w", err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, httpTransport(insecure), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, classify(err)
	}
	return &blobFetcher{ctx: ctx, repo: repo, client: &http.Client{Transport: rt}}, nil
}

// open streams blob digest of size bytes. A transient failure (a dropped
// connection, EOF mid-body, 429 or 5xx), on connecting or mid-body, is
// retried with backoff: from the bytes already delivered by a Range
// request where the registry honours it, else by fetching the blob again
// and skipping them. Whatever arrives, writeBlob still checks the whole
// content against size and digest: a registry that lies is refused, never
// retried into acceptance.
func (f *blobFetcher) open(digest string, size int64) (io.ReadCloser, error) {
	b := &resumingBody{f: f, digest: digest, size: size}
	if err := b.connect(nil); err != nil {
		return nil, err
	}
	return b, nil
}

// resumingBody is a blob's content across reconnections.
type resumingBody struct {
	f       *blobFetcher
	digest  string
	size    int64
	body    io.ReadCloser
	done    int64 // bytes delivered to the reader
	failed  int   // transient failures so far
	pending error // a failure that came with data, for the next Read
	noRange bool  // the registry refused a Range request
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		err := b.pending
		b.pending = nil
		if err == nil {
			var n int
			n, err = b.body.Read(p)
			b.done += int64(n)
			if n > 0 {
				if err != nil && err != io.EOF {
					b.pending = err
				}
				return n, nil
			}
		}
		if err == nil || err == io.EOF || !transient(err) {
			return 0, err
		}
		b.body.Close()
		if err := b.connect(err); err != nil {
			return 0, err
		}
	}
}

func (b *resumingBody) Close() error { return b.body.Close() }

// connect (re)opens the download at b.done; cause is the failure that
// made it necessary, nil on the first try.
func (b *resumingBody) connect(cause error) error {
	for {
		if cause != nil {
			b.failed++
			if b.failed >= blobRetry.attempts {
				return fmt.Errorf("giving up after %d tries: %w", b.failed, cause)
			}
			t := time.NewTimer(blobRetry.backoff << (b.failed - 1))
			select {
			case <-b.f.ctx.Done():
				t.Stop()
				return b.f.ctx.Err()
			case <-t.C:
			}
		}
		body, err := b.get()
		if err == nil {
			b.body = body
			return nil
		}
		if !transient(err) {
			return err
		}
		cause = err
	}
}

// get requests the blob from b.done on.
func (b *resumingBody) get() (io.ReadCloser, error) {
	f := b.f
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", f.repo.Registry.Scheme(), f.repo.RegistryStr(), f.repo.RepositoryStr(), b.digest)
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	ranged := b.done > 0 && b.done < b.size && !b.noRange
	if ranged {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", b.done, b.size-1))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	if ranged && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		resp.Body.Close()
		b.noRange = true
		return nil, errRangeRefused
	}
	if err := transport.CheckError(resp, http.StatusOK, http.StatusPartialContent); err != nil {
		resp.Body.Close()
		return nil, classify(err)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if !ranged || !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", b.done)) {
			resp.Body.Close()
			return nil, fmt.Errorf("downloading %s: the registry answered %q with range %q", short(b.digest), req.Header.Get("Range"), resp.Header.Get("Content-Range"))
		}
	case b.done > 0:
		// The whole blob again: skip what was delivered.
		if _, err := io.CopyN(io.Discard, resp.Body, b.done); err != nil {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp.Body, nil
}

// errRangeRefused makes connect fetch the whole blob again.
var errRangeRefused = errors.New("the registry refused a Range request")

// transient reports whether err may pass if the request is made again.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		s := te.StatusCode
		return s == http.StatusTooManyRequests || s >= 500 && s != http.StatusNotImplemented && s != http.StatusHTTPVersionNotSupported
	}
	var ne net.Error
	return errors.Is(err, errRangeRefused) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne) && ne.Timeout()
}
