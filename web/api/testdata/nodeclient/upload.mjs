// Uploads a file with the official client's two token uploads, as a
// script would, and prints the videos they returned as JSON. Run by
// web/api/upload_node_test.go with UPLINK_URL, TOKEN, FILE (a file of
// several 5 MiB chunks) and CHUNKS (the same file cut into one file per
// chunk, separated by commas) set.
import ApiVideoClient from '@api.video/nodejs-client';

const client = new ApiVideoClient({ baseUri: process.env.UPLINK_URL, chunkSize: 5 * 1024 * 1024 });
const out = {};
try {
  // videos.uploadWithUploadToken: "part i/N", no videoId.
  const whole = await client.videos.uploadWithUploadToken(process.env.TOKEN, process.env.FILE);
  out.oneCall = whole.videoId;
  // The progressive session: "part n/*", then "part N/N", with the
  // videoId after the file from part 2 on.
  const session = client.videos.createUploadWithUploadTokenProgressiveSession(process.env.TOKEN);
  const chunks = process.env.CHUNKS.split(',');
  let last;
  for (const [i, chunk] of chunks.entries()) {
    last = i === chunks.length - 1 ? await session.uploadLastPart(chunk) : await session.uploadPart(chunk);
  }
  out.progressive = last.videoId;
} catch (e) {
  out.error = { status: e.code, message: e.message, problem: e.problemDetails ?? null };
}
console.log(JSON.stringify(out));
