// Photos are shrunk on the phone before upload: a camera photo of 4–12 MB becomes a JPEG of a few
// hundred KB, which a phone network sends quickly and which stays under the server's
// `limits.photo_bytes`. Every form with a photo goes through `shrinkPhoto` (via PhotoPicker).

/** Longest edge of an uploaded photo, pixels: enough to see a problem, small on a phone network. */
export const PHOTO_MAX_PX = 1600;
/** JPEG quality of a shrunk photo. */
const JPEG_QUALITY = 0.85;

/**
 * Shrinks a photo to at most `PHOTO_MAX_PX` on its long edge, as JPEG. A JPEG already small
 * enough is kept as it is; a photo this browser cannot decode (say HEIC on a desktop) is sent
 * as it is too, and the server says whether it takes it (`shrunk: false`).
 */
export async function shrinkPhoto(file: File): Promise<{ blob: Blob; shrunk: boolean }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { blob: file, shrunk: false };
  }
  const scale = Math.min(1, PHOTO_MAX_PX / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.type === 'image/jpeg') {
    bitmap.close();
    return { blob: file, shrunk: true };
  }
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
  return blob ? { blob, shrunk: true } : { blob: file, shrunk: false };
}
