package main

import (
	"bytes"
	"fmt"
	"os"
)

// readSecretFile reads a secret file whole; one trailing newline (\n or
// \r\n) is ignored.
func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret file: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, nil
}
