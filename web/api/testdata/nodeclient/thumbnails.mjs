// Calls the official client's videos.uploadThumbnail and
// videos.pickThumbnail against uplink, as an app would, and prints what
// each returned as JSON. Run by web/api/thumbnail_node_test.go with
// UPLINK_URL, UPLINK_API_KEY, VIDEO_ID and IMAGE set.
import ApiVideoClient from '@api.video/nodejs-client';

const client = new ApiVideoClient({ apiKey: process.env.UPLINK_API_KEY, baseUri: process.env.UPLINK_URL });
const out = {};
try {
  const uploaded = await client.videos.uploadThumbnail(process.env.VIDEO_ID, process.env.IMAGE);
  out.uploaded = { videoId: uploaded.videoId, thumbnail: uploaded.assets?.thumbnail };
  const picked = await client.videos.pickThumbnail(process.env.VIDEO_ID, { timecode: '00:00:02.000' });
  out.picked = { videoId: picked.videoId, thumbnail: picked.assets?.thumbnail };
  try {
    await client.videos.pickThumbnail(process.env.VIDEO_ID, { timecode: '00:01:00.000' });
  } catch (e) {
    out.pastEnd = { status: e.code, title: e.title ?? e.message };
  }
} catch (e) {
  out.error = { status: e.code, message: e.message, problem: e.problemDetails ?? null };
}
console.log(JSON.stringify(out));
