package store

import (
	"bytes"
	"errors"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func contains(b, sub []byte) bool { return bytes.Contains(b, sub) }
