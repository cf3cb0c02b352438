package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func mustAdmin(t *testing.T, st *store.Store, email string) store.Admin {
	t.Helper()
	a, err := st.CreateAdmin(context.Background(), email, "hash-of-"+email)
	if err != nil {
		t.Fatalf("CreateAdmin(%s): %v", email, err)
	}
	return a
}

func TestRemoveAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	a := mustAdmin(t, st, "a@example.com")
	b := mustAdmin(t, st, "b@example.com")
	hash := bytes.Repeat([]byte{7}, 32)
	if _, err := st.CreateAdminSession(ctx, hash, b.ID, "csrf-token-of-at-least-32-characters!!", time.Hour); err != nil {
		t.Fatal(err)
	}

	if err := st.RemoveAdmin(ctx, b.ID); err != nil {
		t.Fatalf("RemoveAdmin(b): %v", err)
	}
	if _, err := st.FindAdminSession(ctx, hash, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the removed admin's session: err=%v, want ErrNotFound", err)
	}
	if err := st.RemoveAdmin(ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveAdmin(b) again: err=%v, want ErrNotFound", err)
	}
	if err := st.RemoveAdmin(ctx, a.ID); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("RemoveAdmin(last): err=%v, want ErrLastAdmin", err)
	}
	if n, _ := st.CountAdmins(ctx); n != 1 {
		t.Errorf("admins=%d, want=1", n)
	}
}

// TestRemoveAdminConcurrently removes every admin at once, many times
// over: exactly one stays each time.
func TestRemoveAdminConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	for round := range 10 {
		var ids []string
		for i := range 4 {
			ids = append(ids, mustAdmin(t, st, fmt.Sprintf("r%d-%d@example.com", round, i)).ID)
		}
		// The admins of earlier rounds go first, one by one.
		list, err := st.ListAdmins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if !contains(ids, a.ID) {
				if err := st.RemoveAdmin(ctx, a.ID); err != nil {
					t.Fatalf("round %d: remove the earlier admin: %v", round, err)
				}
			}
		}
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			removed, refuse int
		)
		for _, id := range ids {
			wg.Go(func() {
				err := st.RemoveAdmin(ctx, id)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					removed++
				case errors.Is(err, store.ErrLastAdmin):
					refuse++
				default:
					t.Errorf("RemoveAdmin: %v", err)
				}
			})
		}
		wg.Wait()
		if n, _ := st.CountAdmins(ctx); removed != 3 || refuse != 1 || n != 1 {
			t.Fatalf("round %d: removed=%d refused=%d left=%d, want 3, 1, 1", round, removed, refuse, n)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestAdminNotifyAndPasswordKeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	a := mustAdmin(t, st, "a@example.com")
	mustAdmin(t, st, "b@example.com")
	if err := st.SetAdminNotify(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListNotifiedAdmins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != a.ID || !list[0].NotifyUploads {
		t.Errorf("notified admins = %+v, want only a", list)
	}
	if err := st.SetAdminNotify(ctx, "adnope", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAdminNotify(unknown): %v, want ErrNotFound", err)
	}

	keep, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, h := range [][]byte{keep, other} {
		if _, err := st.CreateAdminSession(ctx, h, a.ID, "csrf-token-of-at-least-32-characters!!", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetAdminPasswordKeeping(ctx, a.ID, "new-hash", keep); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FindAdminSession(ctx, keep, time.Hour); err != nil {
		t.Errorf("the kept session: %v", err)
	}
	if _, err := st.FindAdminSession(ctx, other, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the other session: err=%v, want ErrNotFound", err)
	}
	got, err := st.FindAdmin(ctx, a.ID)
	if err != nil || got.PasswordHash != "new-hash" {
		t.Errorf("FindAdmin = %+v, %v; want the new hash", got, err)
	}
}

func TestCreateLinkBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	batch := []store.LinkCreate{
		{Label: "Wedding: Ann", TTL: 3600, MaxUploads: 1, RecipientName: "Ann", RecipientEmail: "ann@example.com", EmailReceipt: true},
		{Label: "Wedding: Bob", TTL: 3600, MaxUploads: 1, RecipientName: "Bob"},
		{Label: "Wedding: Cy", TTL: 3600, MaxUploads: 1, RecipientName: "Cy", RecipientEmail: "cy@example.com"},
	}
	id, links, err := st.CreateLinkBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 3 {
		t.Fatalf("links=%d, want=3", len(links))
	}
	for i, l := range links {
		if l.RecipientName != batch[i].RecipientName || l.RecipientEmail != batch[i].RecipientEmail ||
			l.Label != batch[i].Label || l.BatchID != id || l.EmailReceipt != batch[i].EmailReceipt {
			t.Errorf("link %d = %+v, want %+v in batch %s", i, l, batch[i], id)
		}
	}
	again, err := st.FindLinkBatch(ctx, id)
	if err != nil || len(again) != 3 || again[2].ID != links[2].ID {
		t.Errorf("FindLinkBatch = %d links, %v", len(again), err)
	}
	if _, err := st.FindLinkBatch(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindLinkBatch(\"\") err=%v, want ErrNotFound", err)
	}

	// One bad row (a label over the schema's limit) and none is made.
	bad := append(batch[:1:1], store.LinkCreate{Label: string(bytes.Repeat([]byte("x"), 201)), MaxUploads: 1})
	if _, _, err := st.CreateLinkBatch(ctx, bad); err == nil {
		t.Fatal("a batch with an invalid link was created")
	}
	_, total, err := st.ListLinks(ctx, store.Page{Number: 1, Size: 100})
	if err != nil || total != 3 {
		t.Errorf("links after the refused batch = %d, %v; want 3", total, err)
	}
}

func TestEmailQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	msg := store.EmailMessage{Kind: store.EmailReceipt, DedupeKey: "receipt:vi1:a@example.com", MessageID: "m1@uplink",
		To: "a@example.com", Subject: "Your receipt", Body: "Thanks"}
	n, err := st.EnqueueEmails(ctx, []store.EmailMessage{msg, msg}, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("EnqueueEmails = %d, %v; want 1 (the copy is skipped)", n, err)
	}
	due, err := st.ClaimDueEmails(ctx, 10, time.Minute)
	if err != nil || len(due) != 1 || due[0].Subject != "Your receipt" || due[0].Status != store.EmailPending {
		t.Fatalf("ClaimDueEmails = %+v, %v", due, err)
	}
	// Claimed: no other worker gets it until the claim lapses.
	if again, _ := st.ClaimDueEmails(ctx, 10, time.Minute); len(again) != 0 {
		t.Errorf("claimed twice: %+v", again)
	}
	next := clock.Now().Add(time.Minute)
	if err := st.RecordEmailAttempt(ctx, store.EmailAttempt{MessageID: due[0].ID, At: clock.Now(), Error: "451 try later", NextAttemptAt: &next}); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.ClaimDueEmails(ctx, 10, time.Minute); len(due) != 0 {
		t.Errorf("due right after a failure: %d, want 0", len(due))
	}
	clock.Advance(time.Minute)
	due, _ = st.ClaimDueEmails(ctx, 10, time.Minute)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "451 try later" {
		t.Fatalf("due after the backoff = %+v", due)
	}
	if err := st.RecordEmailAttempt(ctx, store.EmailAttempt{MessageID: due[0].ID, At: clock.Now(), Sent: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordEmailAttempt(ctx, store.EmailAttempt{MessageID: due[0].ID, At: clock.Now(), Sent: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a second record on a sent message: %v, want ErrNotFound", err)
	}
	list, err := st.ListEmails(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Status != store.EmailSent || list[0].Attempts != 2 {
		t.Fatalf("ListEmails = %+v, %v", list, err)
	}
	clock.Advance(time.Hour)
	if n, err := st.PruneEmails(ctx, clock.Now()); err != nil || n != 1 {
		t.Errorf("PruneEmails = %d, %v; want 1", n, err)
	}
}

func TestBranding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	b, err := st.Branding(ctx)
	if err != nil || b != (store.Branding{}) {
		t.Fatalf("Branding before any = %+v, %v", b, err)
	}
	if _, _, err := st.BrandLogo(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("BrandLogo before any: %v, want ErrNotFound", err)
	}
	if b, err = st.SetBrandAccent(ctx, "#0a7cff"); err != nil || b.Accent != "#0a7cff" {
		t.Fatalf("SetBrandAccent = %+v, %v", b, err)
	}
	clock.Advance(time.Second)
	png := []byte("\x89PNG fake")
	if b, err = st.SetBrandLogo(ctx, png, "image/png", 40, 20); err != nil || !b.HasLogo() || b.Accent != "#0a7cff" || b.LogoWidth != 40 {
		t.Fatalf("SetBrandLogo = %+v, %v", b, err)
	}
	if !b.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("UpdatedAt=%v, want %v", b.UpdatedAt, clock.Now())
	}
	data, typ, err := st.BrandLogo(ctx)
	if err != nil || !bytes.Equal(data, png) || typ != "image/png" {
		t.Errorf("BrandLogo = %q, %q, %v", data, typ, err)
	}
	if b, err = st.SetBrandLogo(ctx, nil, "", 0, 0); err != nil || b.HasLogo() {
		t.Errorf("removing the logo = %+v, %v", b, err)
	}
	if _, err := st.SetBrandLogo(ctx, make([]byte, 600<<10), "image/png", 1, 1); err == nil {
		t.Error("a logo over 512 KiB was stored")
	}
	if _, err := st.SetBrandAccent(ctx, "red"); err == nil {
		t.Error("an accent that is not #rrggbb-long was stored")
	}
}
