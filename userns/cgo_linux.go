//go:build cgo

package userns

// cgoBuild: with cgo, syscall.AllThreadsSyscall is refused (ENOTSUP).
const cgoBuild = true
