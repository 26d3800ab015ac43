//go:build tools

package runtimetest

import _ "github.com/opencontainers/runtime-tools/cmd/runtimetest"
