package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/idbolt/idbolt/store/kv"
)

// MasterKeySize is the length of a master key: 32 bytes, for AES-256-GCM.
const MasterKeySize = 32

// ErrMasterKey is wrapped by the errors of Open and RotateMasterKey when the
// master key file is missing, malformed, readable by others or not the key
// the data file was encrypted with.
var ErrMasterKey = errors.New("master key")

// Values sealed under the master key. The associated data names what a
// ciphertext is and where it lives, so a sealed value moved to another key
// of the file (another tenant, another key id) no longer opens.
var (
	keyMasterCheck   = []byte("master_key_check")       // meta: sealed masterCheckPlain
	keySealedPepper  = []byte("sealed_secret_hash_key") // meta: the sealed pepper
	masterCheckPlain = []byte("idbolt master key check")
)

const sealedVersion = 1 // first byte of every sealed value

// sealer encrypts values at rest with the master key (AES-256-GCM, a random
// 96-bit nonce per value). It is safe for concurrent use.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("%w: want %d bytes, got %d", ErrMasterKey, MasterKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// associatedData joins what a sealed value is with where it lives.
func associatedData(parts ...string) []byte {
	return []byte("idbolt/v1\x00" + strings.Join(parts, "\x00"))
}

// seal returns version || nonce || ciphertext+tag.
func (s *sealer) seal(plain, ad []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sealedVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plain, ad), nil
}

// open reverses seal; it fails for a value sealed under another key or with
// other associated data.
func (s *sealer) open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealedVersion {
		return nil, errors.New("unseal: malformed value")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, errors.New("unseal: wrong master key or a value moved or altered")
	}
	return plain, nil
}

// checkValue seals the known check text, so Open can tell at once whether a
// key is the one the file was encrypted with.
func (s *sealer) checkValue() ([]byte, error) {
	return s.seal(masterCheckPlain, associatedData("master-key-check"))
}

// matches reports whether check was sealed by this key.
func (s *sealer) matches(check []byte) bool {
	plain, err := s.open(check, associatedData("master-key-check"))
	return err == nil && bytes.Equal(plain, masterCheckPlain)
}

func pepperAD() []byte { return associatedData("secret-hash-key") }

func signingKeyAD(tenant, kid string) []byte { return associatedData("signing-key", tenant, kid) }

func webhookKeyAD(tenant string) []byte { return associatedData("email-webhook-key", tenant) }

// appSecretAD binds a sealed application secret to its tenant, its
// application and its own hash, so it opens only beside the secret it is.
func appSecretAD(tenant, appID string, hash []byte) []byte {
	return associatedData("application-secret", tenant, appID, hex.EncodeToString(hash))
}

// DefaultMasterKeyFile is where Open looks for the master key of the data
// file at dataPath when none is given: beside it, with ".key" appended.
func DefaultMasterKeyFile(dataPath string) string { return dataPath + ".key" }

// ReadMasterKeyFile reads a master key file: 64 hex digits (32 bytes) on one
// line. It refuses, wrapping ErrMasterKey, a file that group or others may
// access and one that does not hold exactly one key; a missing file gives an
// error for which errors.Is(err, fs.ErrNotExist) holds.
func ReadMasterKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > 1024 {
		return nil, fmt.Errorf("%w file %s: not a regular file of one line", ErrMasterKey, path)
	}
	if fi.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows" { // Windows has no such mode bits
		return nil, fmt.Errorf("%w file %s: mode %v lets others read it; chmod 600 it", ErrMasterKey, path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := parseMasterKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w file %s: %v", ErrMasterKey, path, err)
	}
	return key, nil
}

// parseMasterKey decodes the content of a master key file: 64 hex digits,
// with white space around them (a trailing newline) and nothing else.
func parseMasterKey(data []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != MasterKeySize {
		return nil, fmt.Errorf("want %d hex digits (%d random bytes) on one line", 2*MasterKeySize, MasterKeySize)
	}
	return key, nil
}

// CreateMasterKeyFile writes a new random master key to path, mode 0600,
// and returns it. The file appears complete or not at all (written to a
// temporary file, synced, then linked into place), and an existing file is
// never replaced.
func CreateMasterKeyFile(path string) ([]byte, error) { return createMasterKeyFile(path, true) }

// createMasterKeyFile is CreateMasterKeyFile; sync false skips the fsyncs,
// for data files opened with NoSync (tests), which promise no durability.
func createMasterKeyFile(path string, sync bool) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".idbolt-master-key-*")
	if err != nil {
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	}
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // fails if path exists: never clobber a key
	}
	if err != nil {
		return nil, fmt.Errorf("create master key file %s: %w", path, err)
	}
	if sync {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("create master key file %s: %w", path, err)
		}
	}
	return key, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadOrCreateMasterKey returns the key in path. When path does not exist it
// creates one, but only if the file has nothing sealed yet (encrypted says
// otherwise): a new key could never open what an old one sealed.
func loadOrCreateMasterKey(path, dataPath string, encrypted, sync bool) (key []byte, created bool, err error) {
	key, err = ReadMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if encrypted {
		return nil, false, fmt.Errorf("%w: %s is encrypted with a master key, but the key file %s does not exist; "+
			"give the key file it was written with (--master-key-file or IDBOLT_MASTER_KEY_FILE)", ErrMasterKey, dataPath, path)
	}
	key, err = createMasterKeyFile(path, sync)
	return key, err == nil, err
}

// keyScrubPending in meta marks a file whose free pages may still hold
// values in clear (after an upgrade) or sealed under a retired master key
// (after a rotation): bbolt reuses freed pages but does not wipe them, and a
// backup copies them. It is set in the transaction that replaced the values
// and removed by the rewrite, so a crash in between repeats the rewrite.
var keyScrubPending = []byte("scrub_pending")

// scrubIfPending rewrites the file at b.Path() with only its live data when
// keyScrubPending is set: a compacted copy, synced, then renamed over the
// file while b still holds its lock. It returns the reopened file, or b
// itself when there was nothing to do. On error b is closed. The rewrite
// keeps the data as it was but for the removed marker, which rec, if not
// nil, records.
func scrubIfPending(b *bbolt.DB, opts bbolt.Options, rec *kv.WriteSet) (*bbolt.DB, error) {
	pending := false
	if err := kv.View(b, func(tx *kv.Tx) error {
		pending = tx.Bucket(bucketMeta).Get(keyScrubPending) != nil
		return nil
	}); err != nil || !pending {
		if err != nil {
			b.Close()
		}
		return b, err
	}
	path := b.Path()
	tmp := path + ".scrub"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.Close()
		return nil, err
	}
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{NoSync: true})
	if err == nil {
		err = bbolt.Compact(dst, b, 64<<20)
		if err == nil {
			err = kv.Update(dst, rec, func(tx *kv.Tx) error { return tx.Bucket(bucketMeta).Delete(keyScrubPending) })
		}
		if err == nil {
			err = dst.Sync()
		}
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	b.Close()
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("rewrite the file without its free pages: %w", err)
	}
	nb, err := openLocked(path, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ErrInUse
	}
	return nb, err
}

// RotateMasterKey re-encrypts every value the data file at path keeps
// sealed (signing keys, email webhook keys, the secret-hash key, the check
// value, user id keys, readable application secrets, cookie keys, connector
// secrets) from oldKey to
// newKey in one transaction, then rewrites the file so nothing sealed under
// oldKey stays in its free pages. The server must be stopped: it returns an
// error wrapping ErrInUse while another process has the file open, and one
// wrapping ErrMasterKey when oldKey is not the file's key. Backups taken
// before still need oldKey.
func RotateMasterKey(path string, oldKey, newKey []byte) error {
	from, err := newSealer(oldKey)
	if err != nil {
		return err
	}
	to, err := newSealer(newKey)
	if err != nil {
		return err
	}
	if bytes.Equal(oldKey, newKey) {
		return fmt.Errorf("%w: the new key is the old one", ErrMasterKey)
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	if err := checkPath(path, path); err != nil {
		return err // before bbolt maps a truncated file and crashes
	}
	opts := bbolt.Options{Timeout: time.Second}
	b, err := openLocked(path, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	} else if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	err = kv.Update(b, nil, func(tx *kv.Tx) error {
		meta, tenants := tx.Bucket(bucketMeta), tx.Bucket(bucketTenants)
		if meta == nil || tenants == nil {
			return fmt.Errorf("%s is not an idbolt data file", path)
		}
		check := meta.Get(keyMasterCheck)
		if check == nil {
			return fmt.Errorf("%s is not encrypted yet: start the server on it once", path)
		}
		if !from.matches(check) {
			return fmt.Errorf("%w: the old key is not the key %s was encrypted with", ErrMasterKey, path)
		}
		newCheck, err := to.checkValue()
		if err != nil {
			return err
		}
		if err := meta.Put(keyMasterCheck, newCheck); err != nil {
			return err
		}
		pepper, err := from.open(meta.Get(keySealedPepper), pepperAD())
		if err != nil {
			return fmt.Errorf("secret-hash key: %w", err)
		}
		sealed, err := to.seal(pepper, pepperAD())
		if err != nil {
			return err
		}
		if err := meta.Put(keySealedPepper, sealed); err != nil {
			return err
		}
		if err := resealSigningKeys(tenants, from, to); err != nil {
			return err
		}
		if err := resealWebhookKeys(tenants, from, to); err != nil {
			return err
		}
		if err := resealUserIDKeys(tenants, from, to); err != nil {
			return err
		}
		if err := resealApplicationSecrets(tenants, from, to); err != nil {
			return err
		}
		if err := resealCookieKeys(tenants, from, to); err != nil {
			return err
		}
		if err := resealJWTCustomizers(tenants, from, to); err != nil {
			return err
		}
		if err := resealConnectorSecrets(tenants, from, to); err != nil {
			return err
		}
		if err := resealHookKeys(tenants, from, to); err != nil {
			return err
		}
		return meta.Put(keyScrubPending, []byte{1})
	})
	if err != nil {
		b.Close()
		return err
	}
	if b, err = scrubIfPending(b, opts, nil); err != nil {
		return err
	}
	return b.Close()
}

// eachTenantRecord calls fn for every tenant's record, and stores it again
// when fn reports it changed it.
func eachTenantRecord(tenants *kv.Bucket, fn func(tenant string, r *tenantRecord) (changed bool, err error)) error {
	return tenants.ForEachBucket(func(name []byte) error {
		meta := tenants.Bucket(name).Bucket(bucketTenantMeta)
		v := meta.Get(keyTenant)
		if v == nil {
			return fmt.Errorf("tenant %s: no record", name)
		}
		var r tenantRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("tenant %s: decode: %w", name, err)
		}
		changed, err := fn(string(name), &r)
		if err != nil || !changed {
			return err
		}
		return putJSON(meta, keyTenant, r)
	})
}

// sealClearWebhookKeys seals the clear email webhook keys a file written by
// an older version holds, and returns how many it sealed.
func sealClearWebhookKeys(tenants *kv.Bucket, s *sealer) (int, error) {
	n := 0
	err := eachTenantRecord(tenants, func(tenant string, r *tenantRecord) (bool, error) {
		if r.EmailWebhookKey == "" {
			return false, nil
		}
		sealed, err := s.seal([]byte(r.EmailWebhookKey), webhookKeyAD(tenant))
		if err != nil {
			return false, err
		}
		r.EmailWebhookKeySealed, r.EmailWebhookKey = sealed, ""
		n++
		return true, nil
	})
	return n, err
}

// resealWebhookKeys re-encrypts every email webhook key from one master key
// to another.
func resealWebhookKeys(tenants *kv.Bucket, from, to *sealer) error {
	return eachTenantRecord(tenants, func(tenant string, r *tenantRecord) (bool, error) {
		if len(r.EmailWebhookKeySealed) == 0 {
			return false, nil
		}
		ad := webhookKeyAD(tenant)
		key, err := from.open(r.EmailWebhookKeySealed, ad)
		if err != nil {
			return false, fmt.Errorf("tenant %s: email webhook key: %w", tenant, err)
		}
		if r.EmailWebhookKeySealed, err = to.seal(key, ad); err != nil {
			return false, err
		}
		return true, nil
	})
}

// resealUserIDKeys re-encrypts every tenant's user id key from one master
// key to another.
func resealUserIDKeys(tenants *kv.Bucket, from, to *sealer) error {
	return tenants.ForEachBucket(func(name []byte) error {
		meta := tenants.Bucket(name).Bucket(bucketTenantMeta)
		sealed := meta.Get(keyUserIDKey)
		if sealed == nil {
			return nil
		}
		ad := userIDKeyAD(string(name))
		key, err := from.open(sealed, ad)
		if err != nil {
			return fmt.Errorf("tenant %s: user id key: %w", name, err)
		}
		resealed, err := to.seal(key, ad)
		if err != nil {
			return err
		}
		return meta.Put(keyUserIDKey, resealed)
	})
}

// resealRecords walks bucket of every tenant, decodes each record (named
// what in errors) as an R, lets reseal re-encrypt what it seals, reporting
// whether it changed it, and stores the records that changed.
func resealRecords[R any](tenants *kv.Bucket, bucket []byte, what string,
	reseal func(tenant string, key []byte, r *R) (changed bool, err error)) error {
	return tenants.ForEachBucket(func(name []byte) error {
		b := tenants.Bucket(name).Bucket(bucket)
		if b == nil {
			return nil
		}
		type change struct {
			key []byte
			rec *R
		}
		var changes []change // bbolt forbids puts while ForEach walks
		err := b.ForEach(func(k, v []byte) error {
			r := new(R)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("tenant %s: decode %s %x: %w", name, what, k, err)
			}
			changed, err := reseal(string(name), k, r)
			if err != nil {
				return fmt.Errorf("tenant %s: %s %x: %w", name, what, k, err)
			}
			if changed {
				changes = append(changes, change{bytes.Clone(k), r})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if err := putJSON(b, ch.key, ch.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// resealApplicationSecrets re-encrypts the sealed value of every readable
// application secret from one master key to another.
func resealApplicationSecrets(tenants *kv.Bucket, from, to *sealer) error {
	return resealRecords(tenants, bucketApps, "application", func(tenant string, _ []byte, r *appRecord) (bool, error) {
		resealed := false
		for i, s := range r.Secrets {
			if len(s.Sealed) == 0 {
				continue
			}
			ad := appSecretAD(tenant, r.ID, s.Hash)
			value, err := from.open(s.Sealed, ad)
			if err != nil {
				return false, fmt.Errorf("secret %q: %w", s.Name, err)
			}
			if r.Secrets[i].Sealed, err = to.seal(value, ad); err != nil {
				return false, err
			}
			resealed = true
		}
		return resealed, nil
	})
}
