package imagestore

import (
	"context"
	"fmt"
	"io"
	"net/http"

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

func (f *blobFetcher) open(digest string) (io.ReadCloser, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", f.repo.Registry.Scheme(), f.repo.RegistryStr(), f.repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, classify(err)
	}
	return resp.Body, nil
}
