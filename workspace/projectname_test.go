package workspace

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// ociRepo is the distribution spec's repository grammar.
var ociRepo = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*$`)

func TestProjectRepoIsAValidReference(t *testing.T) {
	tests := []struct {
		project, wantPrefix string
	}{
		{"/home/u/src/MyApp", "sandbox.local/myapp-"},
		{"/home/u/proj.Lupa8D", "sandbox.local/proj.lupa8d-"},
		{"/home/u/my project", "sandbox.local/my-project-"},
		{"/home/u/Ünïcödé-名前", "sandbox.local/n-c-d-"},
		{"/home/u/-leading-dash", "sandbox.local/leading-dash-"},
		{"/home/u/.dotted", "sandbox.local/dotted-"},
		{"/home/u/a..b__c--d", "sandbox.local/a-b-c-d-"},
		{"/home/u/名前", "sandbox.local/project-"},
		{"/home/u/___", "sandbox.local/project-"},
		{"/", "sandbox.local/project-"},
		{"/home/u/" + strings.Repeat("A.", 100), "sandbox.local/" + strings.Repeat("a.", 31) + "a-"},
		{"/home/u/" + strings.Repeat("x", 200), "sandbox.local/" + strings.Repeat("x", 64) + "-"},
		{"/home/u/trailing.", "sandbox.local/trailing-"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			repo := projectRepo(tt.project)
			if !strings.HasPrefix(repo, tt.wantPrefix) {
				t.Errorf("projectRepo(%q) = %q, want prefix %q", tt.project, repo, tt.wantPrefix)
			}
			if !ociRepo.MatchString(repo) || len(repo) > 255 {
				t.Errorf("projectRepo(%q) = %q: not an OCI repository name", tt.project, repo)
			}
			if _, err := name.NewTag(repo+":1", name.StrictValidation); err != nil {
				t.Errorf("projectRepo(%q) + \":1\": %v", tt.project, err)
			}
			if other, ok := seen[repo]; ok {
				t.Errorf("projectRepo(%q) = projectRepo(%q) = %q", tt.project, other, repo)
			}
			seen[repo] = tt.project
			if id := ID(tt.project); len(id) > 255 || strings.Contains(id, "/") {
				t.Errorf("ID(%q) = %q: not a file name", tt.project, id)
			}
		})
	}
	// Names that sanitise alike still differ by path.
	if a, b := projectRepo("/a/My App"), projectRepo("/a/my-app"); a == b {
		t.Errorf("projectRepo of two paths = %q for both", a)
	}
}
