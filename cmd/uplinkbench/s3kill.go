package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// S3Kill is one upload during which the instance receiving a part was
// killed with SIGKILL halfway through the part's body.
type S3Kill struct {
	Contender string `json:"contender"`
	Round     int    `json:"round"`
	Part      int    `json:"part"`  // The part that was cut.
	Parts     int    `json:"parts"` // Of the upload.
	// Seconds is from the SIGKILL to the end of the answer that
	// committed the cut part, sent again: for (u1) this includes
	// starting the instance again on its address; for (u3) the proxy
	// sends the retry to another instance.
	Seconds float64 `json:"secondsToContinue"`
	// Attempts is how many times the client sent the part after the
	// kill, and Answers the statuses it got, in order, with runs of one
	// status counted ("503 ×52, 201").
	Attempts int    `json:"attempts"`
	Answers  string `json:"answers"`
	// Refusal is the body of the last answer that refused the part.
	Refusal string `json:"lastRefusal,omitempty"`
}

// killRetryFor is how long the client keeps sending a cut part again.
const killRetryFor = 2 * time.Minute

// killRun uploads size bytes with POST /upload through the contender's
// cluster, ((u1) or (u3)), kills the instance that receives the middle
// part when half of that part's body is sent, and measures how long the
// upload takes to continue: for (u1) the instance is started again on
// its address, as a supervisor would; for (u3) the proxy takes the dead
// instance out of its rotation after a refused connection. The client
// sends the part again every 50 ms until it commits, then sends the
// rest, and the stored source is checked as in every other upload.
func (s *s3bench) killRun(ctx context.Context, key string, size int64, rnd int) (S3Kill, error) {
	s.uploads++
	prefix := fmt.Sprintf("run%d", s.uploads)
	defer func() { _ = deletePrefix(context.WithoutCancel(ctx), s.target.client, s.target.Bucket, prefix+"/") }()
	n := 1
	if key == upThree {
		n = 3
	}
	c, err := s.startCluster(ctx, n, prefix)
	if err != nil {
		return S3Kill{}, err
	}
	defer func() {
		c.stop()
		for _, inst := range c.insts {
			s.cleanup(inst.Data)
		}
	}()
	fail := func(err error) (S3Kill, error) {
		return S3Kill{}, fmt.Errorf("%s, SIGKILL mid-part: %w\nserver log:\n%s", key, err, c.insts[0].logTail())
	}
	tok, err := createToken(c.URL, s.apiKey)
	if err != nil {
		return fail(err)
	}
	f, err := os.Open(s.src)
	if err != nil {
		return S3Kill{}, err
	}
	defer f.Close()
	u, _ := url.Parse(c.URL)
	total := partCount(size)
	k := S3Kill{Contender: key, Round: rnd, Part: total/2 + 1, Parts: total}
	if total < 2 {
		return S3Kill{}, fmt.Errorf("the kill test needs at least 2 parts; %s is 1", human(size))
	}
	conn := &rawConn{host: u.Host}
	defer conn.Close()
	videoID := ""
	for p := 1; p <= total; p++ {
		if p != k.Part {
			resp, err := conn.do(directPart(tok, videoID, p, f, size))
			if videoID, err = directAnswer(resp, err, p, total); err != nil {
				return fail(err)
			}
			continue
		}
		cut, err := sendHalf(u.Host, directPart(tok, videoID, p, f, size))
		if err != nil {
			return fail(err)
		}
		victim := 0
		if c.proxy != nil {
			victim = int(c.proxy.last.Load())
		}
		c.insts[victim].Kill()
		killed := time.Now()
		cut.Close()
		conn.Close()
		if c.proxy == nil {
			if err := c.restart(ctx, s, victim); err != nil {
				return fail(err)
			}
		}
		var answers []string
		for {
			resp, err := conn.do(directPart(tok, videoID, p, f, size))
			k.Attempts++
			if err != nil {
				answers = append(answers, "error")
			} else {
				answers = append(answers, strconv.Itoa(resp.status))
				if resp.status != 201 {
					k.Refusal = clip(resp.body)
				}
			}
			if id, err := directAnswer(resp, err, p, total); err == nil {
				videoID = id
				break
			}
			if time.Since(killed) > killRetryFor {
				return fail(fmt.Errorf("part %d still not committed %v after the kill: answers %s", p, killRetryFor, countRuns(answers)))
			}
			time.Sleep(50 * time.Millisecond)
		}
		k.Seconds = round(time.Since(killed).Seconds(), 3)
		k.Answers = countRuns(answers)
	}
	if err := s.checkSource(ctx, &server{URL: c.URL}, videoID, size); err != nil {
		return fail(err)
	}
	return k, nil
}

// sendHalf opens a connection to host and sends r's head and the first
// half of its file bytes, announcing the whole length, and returns the
// connection with the request unfinished.
func sendHalf(host string, r request) (net.Conn, error) {
	c, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.method, r.target, host)
	r.header.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", int64(len(r.head))+r.size+int64(len(r.tail)))
	b.Write(r.head)
	if _, err := c.Write(b.Bytes()); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.(*net.TCPConn).ReadFrom(io.NewSectionReader(r.file, r.off, r.size/2)); err != nil {
		c.Close()
		return nil, err
	}
	// Give the server (and the proxy) time to take in what was sent, so
	// that the kill finds the part's bytes on their way to S3.
	time.Sleep(100 * time.Millisecond)
	return c, nil
}

// countRuns joins answers with commas, writing a run of one answer
// repeated n > 1 times as "answer ×n".
func countRuns(answers []string) string {
	var out []string
	for i := 0; i < len(answers); {
		j := i + 1
		for j < len(answers) && answers[j] == answers[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", answers[i], j-i))
		} else {
			out = append(out, answers[i])
		}
		i = j
	}
	return strings.Join(out, ", ")
}
