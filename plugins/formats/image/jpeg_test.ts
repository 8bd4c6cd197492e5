import assert from "node:assert/strict";
import * as jpegJs from "jpeg-js";
import { parseJpeg, readJpeg } from "./jpeg.ts";
import { readImage } from "./mod.ts";
import { assertFormatError, fixture, withTempDir } from "../_testing.ts";
import { readFileBytes } from "../_io.ts";

// Progressive JPEGs and their reference decodes, made with Pillow (libjpeg):
//   g = Image.new("L", (48, 40)); g.putdata([int(128 + 100*sin(x/7)*cos(y/5)) ...])
//   g.save(b, "JPEG", quality=90, progressive=True)
//   c = Image.new("RGB", (32, 24)); c.save(b, "JPEG", quality=92, progressive=True, subsampling=0)
// The *_PIXELS strings are Image.open(...).tobytes() of those files.
const PROGRESSIVE_GREY_JPEG =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wgALCAAoADABAREA/8QAFgABAQEAAAAAAAAAAAAAAAAABgcF/9oACAEBAAAAAVK0NJMul4JhjUNGekyjWr6c4QqRcqzaMqUjJbm0T//EABsQAAIDAAMAAAAAAAAAAAAAAAIFAQMEABIU/9oACAEBAAEFAlmwaIl1X0aaY0RvWncVCewCVR5+MN055h8fZdqnTOJUN43IwAWQ+XjLFOiYSWd1mac84WY0je6AxaF6eLsUaIlGHVnljNG5oVJUOzMlZeni7dGeJeh1Zao0xtVFeVCQwJYPm5//xAAYEAADAQEAAAAAAAAAAAAAAAAAARExIf/aAAgBAQAGPwJU0cHEYKjhKKnUWDg4YKnWaOCpYODjNFRUlHDiLBU//8QAGBABAQEBAQAAAAAAAAAAAAAAAREAUSH/2gAIAQEAAT8hFlMyI1oW5QTGVW52Y8UmT7ddFuGIZ+DuQmWhbjVemiTHgMlA7sLnwW4/l0ASYcTBRe6S4MUz/LqAtzRTD09yk3//2gAIAQEAAAAQJBeUq//EABsQAQEAAwEBAQAAAAAAAAAAAAEAETFRYUEh/9oACAEBAAE/EAR4dbbvjsDl4TMGX4QFYPJ3yNzcf002tLONxQnpMpKciAEORes1NryOrSrnkut6QyGD6zdCnYD3NQ0/QtvOOSSX6aiyAfjI0C9kWfRuHjh1tvGOx6HhNMZfhCQA8kfM3f/Z";
const PROGRESSIVE_GREY_PIXELS =
  "gYycq7fCzNPb3+Pj4t/Z1MvBtKidjn1wYldIPTQsJCAcHB4hJSs1PklXZXKAjZyqgIqaqLS/ytHZ3eHh4N3Y08rBtKicjn1xZFlLPzcuJiIeHiAjJi02P0pXZXKAjpypgYuZprK8xszV2dzd3NnUz8W9saWajX1zZVpNQzoxKiYkIyQnKjA6QU1ZZnKAjZqmgouXo622v8TLztLT0s/Kxr22q6GXi351Z15SSUI6NDEuLS4wNDlCSVNeaHOAjJeigYiSnKWttbq+wcTFxMK+urSupZ2UiX52a2NaUkxFQD47Ojs9QUVMUlpja3WBi5SdgYaOlp2kqq6xtLa2tbSyrqmknpePh354cGlhXFdRTUtJSElLTlFWW2JpcHeBiY+XgYWKj5OXm56foqOjoqKgnpmXk46KhH57dnBraGVhX15dW1xeYGFkZ21ydXmBhYmOgIKFh4iKjI6OkJGQkJCPjYyLiYeFgn99fXh1dHNxcHBvbm5wcXFzdXZ5enuAgoOHgX5/f3x9fnx8fH18fH19fH19fX1+f4CBf4GCgYGCg4KCg4OBgYKCgYOAgYF/gIB9f3t6d3Jwb2xra2pqamtsbHBxc3Z5fYCCh4qNj5CSlJOVlpWTkpKQjoyHhYN+fHt2gHl1b2hjYFtZV1ZVVldZW2BjaG5zeoCFjJKYnKCkpqeqqqqnpaOfm5eQi4Z+eXRtf3dwaV9ZVE5LSEZFRkdKTVRZYGdvd4CHj5afpqyytbe6u7q4tbGrpaCXkIh+d29nfnRqYVZPSUE9OTY2Nzk9QUlQWWJrdYGIlJynsLe+xMbJysnHw762r6edlIp/dWthf3NnXFBHPzYyLioqKy0yOD9GUVxnc4GLmKKuuMDIz9HU1dTSz8nAuK+jl4x/c2dcgXRmWUxDOS8rJSIiJCUqMTdATVlkcoKNnKazvcbP1tnd3dzZ1s/FvbOmmY1/cmVYf3FjVkk/NislHxwdHh8lKzU+S1djcYKNnqm2wcrT29/i4uHe2tPJwLWnmY1/cmRXgXFhVUk+NCskIB0cHiEmKzQ9S1dicIGNnqm2wcrT2t7k5OLf29TKwbaomo5/cmNWgXJjV0tANi0nJCAfISQpLjU/TFhjcYGNm6azvsjR2Nzf397b19HHvrSomo1/cmRXgXNmW09FPDQuKiYlJikvMztEUFtlcoGMmqSwusPM09bY2djV0szCurCkmI1/c2ZagXRpYFVMRT04NTEwMTQ5PURMVmBpdYGKl6Cqs7vCyMvOz87MyMO6s6qflYt/dGpfgXZtZlxUTkhFQj8/P0FFSU5UXGVtd4GIkpmiqa+2u73AwcG+u7ewqqKakop+dm1kgXhybWReWlVTUE5OTk9SVVpeZGtxeYGGjpSan6Sqrq+xsrKvraqloJqTjod+d3FqgXp3dW9samdlYmFiYmJkZmlsb3N3e4CEiIyRk5aanJydnp6cmpmXlI+KiIV+e3hygXx7fHh3eHZ2dHR0dXR2eHZ3eXp7fX+BgYSHh4iKiomKjIyKioqJhoeDg4N/fn15gYGDhISFhoaIiYmHh4iIhoeEhYWCgYF9fnt6e3t5d3d3dnZ3d3d4e3p9fX2BgYGFgoSIi4+SlZaZm5uampqZl5SQjoyGg4B7eHNwbmxpZmVlZGRlZ2hqbXF2eHuBhIeMgYWMk5mfpKirra+urq2rqKSemZSMhX94cmxlYV1YVFJRUFBSVVdcYWZscniAh42UgIeQmaGpsLS4u76+vby4tLCoopqQh392bmddVlFLRkRBQEBDRkpRV11mbXaAiZGagoqWoamyu8HFyczNzMrFwbqxqKCUin90aWBUTEU+ODYzMjM1OD5GTVdhanSBi5WggYqZpa+5w8rR1djZ2NXQy8S5r6WYjH9yZ1xORDw0LSooKCgrLjQ9RVBcaHOBjZmlf4uaqLO9yNDX29/g39vW0cq+s6iajX9xZVlLQDcvJyMgICIkKC44QEtYZXKAjZuogY2dq7bAy9Tb3+Pk4t/Z1MvAtKmbjn9xYlZIPTUsJSEbGx0gJCo0PUlXZHGAjZupgYycqrbBzNPb3+Pk4t/Z1MvBtKicjn1xYldJPTQsJiIcHB0gJCs2P0pXZXKAjZupgIqZp7O9yM/W2t7f3trV0Mm/sqecjn5yZVpMQTgvKCUiISIlKC85QktYZXKAjZuogYqYpK+4wsjP09fY1tPOycK5rqOZjX50ZlxQRT00LispKSksLzU/R1BbZ3OAjJikgoqVoKixub7EyMvMy8nEv7ewp56Vi392aWBWTkY/OTc1NDQ3Oj9IT1dha3SAipSfgYeQmJ+mrbK2ury8vLq3s62ooJiRiH94bmdfWFJMSEZDQkNFSExTWV5nbnaAiZGZgIWMkpecoqWoqqyrq6qopaGdmJKMhn96cm1nY15ZVlVTUlNVV1peYmduc3iBh4yTgIOHioyPkpWVl5iXlpeWlJKQjYqHg398eHVxb21qaGhoZ2dpamttb3J3eXuBg4aLf4CCgoKCg4WFhoaFhIWFg4WEg4OCgX9+f317fHx7ent6eXl7e3p7fHt+fX2AgICD";
const PROGRESSIVE_RGB_JPEG =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wgARCAAYACADAREAAhEBAxEB/8QAGQABAAIDAAAAAAAAAAAAAAAABgEDAAQH/8QAHAEAAgICAwAAAAAAAAAAAAAABQcBAgMGAAQI/9oADAMBAAIQAxAAAAFUvSGwQuN2RURXg8t6Vv7eQWcVURHc11sVl8ow4qcvH//EABwQAAIDAQADAAAAAAAAAAAAAAMEAQURAhIhIv/aAAgBAQABBQJW0Hh7IeM2QY6Wsw6mY+MsHmGTm8ljn1Olzhik+WaWNXpPf//EAB0RAAICAwEBAQAAAAAAAAAAAAAFAQMCERIiITH/2gAIAQMBAT8BVLM+Rouz4Gi2yc/kCtZZ2LKauRlRVGG5GtNfc7FdFUZixzuIgZuvMzsaOZ7Fbr3+n//EAC0RAAECBAEJCQAAAAAAAAAAAAECAwAEBTHwEiEiQlFxscHhBhETIzJBYaHR/9oACAECAQE/AVUpSzEn2eUs2huhMM6Lpz42Q5SGlJ0GyTjfErKNrMJAmXPBZ9HHH3Esww33IlwFHb7dYfaQ4MknL+Bb84wzV1My6nU3wIYqSm0iXRdV93WGqrkpKUny7ZtbGM0TFSUUBJF9XmTjnH//xAAeEAABBAEFAAAAAAAAAAAAAAAAAREhMRICECJBgf/aAAgBAQAGPwKyydSbdjJRElqo+I2NlQJx8P/EAB0QAQEAAgEFAAAAAAAAAAAAAAEAESFBMVFxgcH/2gAIAQEAAT8hYdZj0nhBxwTDEzv1AwzXeQTwTpDhcITHsN2fD0cx4uc//9oADAMBAAIAAwAAABC+7mQQD//EABoRAQEBAAMBAAAAAAAAAAAAAAEAIRExsZH/2gAIAQMBAT8QAcgLJowA8wDLw2WmYg8B7OgyLek5K75MF+r/xAAfEQEBAAIDAAIDAAAAAAAAAAABESExAEFRYXGRobH/2gAIAQIBAT8Q07g7hkIeAVNOQM2Sy9cdvTBAPyP8PAWOIHOin1uZrrGBcogYhQXYaxjxuIGMrQt64GA3HKFbogqRkOaOQT4VA6dWzuTmoUy8WMYnYvQOKiHAQU5Kdh+wBiVVWMGWIXc8Fl0SKEKI/8QAHRABAAMBAQADAQAAAAAAAAAAAQARITFRgaGx0f/aAAgBAQABPxDzx9njV7DJm+Gv1LQlvBoJufEyM1KQmOxuqP7FY5o4fKsnSwFZxcuVTeBwghIcUa/CNQaRQ/Vqf//Z";
const PROGRESSIVE_RGB_PIXELS =
  "etM7idQ8ndM9sNM7vtM6ytM81NM92dI83NM62dQ80dQ/yNI9u9Q7qtU9ltU+idNAbdcvXtM0R9E9NdQ8J9U2HtFCF9QvFdFHEdA1FtE8H9JCK9RDNtU9R9I3XdI2bNM6e807is8+n88/sc4+v84/y84/1c5A285C3c5B2s5E0s5Gyc1FvM5Gq89Hl89IiM5Kc8xgZM5QTs1cOs9XK9JHIMxSGM1MFMxQF9FUGc9WIM9YKNBWNdBQSM5RYM5bb89kfMY9isZAn8dCssZDwMVEzsZH1sdI28ZJ3sZM2sVO0sVSysRSvcZTrMdWmMZZisVbcsNaYsRXTcNlOsZlLcZrIsRuG8ZoFsdtE8V3FcZrHMZjJ8ZpNsR4SsKCYMR8cMd2erg7ibk/nblCr7hDvrhGy7lJ1LpM2bhP3LlT2rpX0rlcyLlcvbleq7tjl7pmiLlocrpwYrpjTLhtN7lxKLh9HreBFbeFErp8FLuDF7qDILqELLyJOryQTLiUYbaVbrWVeKg6h6g9nKhCradFvKhJyqhP06lV2KhW26hZ16lc0Khixqdmuqhqqqlwlal0hqh2bat6XaaJSaiAN6t+KaqMH6qJF6yOE6qhF6SeG6ScIqWfLaSsO6OuS6SSXalfarA2e5M9iZVBnpVGsJRLv5RQzZVY1pVf3JRi3JRi2ZVo0pRvyJNzvJV4q5V+l5WGiJSIbZaIX5GaTJWOPJOnLpOlI5GqGpOmFpOpE5g7FpZBHZVLKJdVNpZZSJNaXJNcbJNefHxAiX1Dnn1KsXxQwHxXzH1e131l3Xxp3nxv2Xx00nx7yHyAu3yFrH2Pl32WiXyYdYKkZn2pT3uiPHStLIZAH4M7Fn1OEX5FE3pfF3pbHnxYKX9cNn9kSn1sYH5ycYF2eGc8hmlBm2lIrmhOvWdWyWld1Ghl2Whq22lz2Gl50Gh/xmeFumiOqWqVlWmchmegcGatX2GrSXBDNWpOKGhFH2JoG2hUGGdrFGlkGWhvIWh8KWmENmmISWeNXmWbb2anelA6i1FDoFJOslJUwFFazVJk11Jv3FB13lCA2FKEzlZ6xVCevFShsFSnmkukh1U0dVY5YU9dSVNKN1NXLVVVJE95G1B6F1RxD1J8FlWKGlGhJVScOFeYTk+rX1g8bE89d0A5iEJEnUNPr0JXvUFbykJm1EJx2UJ52kCI2UKT0UGgx0GYuz6kqzyllklDhj5Wb0BKYDxqSUJhNkJyKT6BHjyCGD+MFEGcGUOVH0GiJDW3KUNENT9JRz1YXDxra0FneC49hy9FnS9Sri9avS9hyS9r1DB52C+A2TF/2S6h1TCYyyipvDVEqTBTlTJHiCticzFfYS5wSi6DOjKILzKTJDCSGTCOEiynDS4/GDBMIjFGKy1UOi5cTTBqXy95cDR8eyI+iiRJoCRWsyNgwCNozCN01ySC3COL2yOf2iOV1h6kyydJvSJOrCRKmSJmjCFxcCNxXiCBSiGJOyWKMSGeJhyjGSlLDylEFSNUFyFmGiNkIyZpNih/SyWUYSGTcB2jexw8ix5IoR1Wsx5iwB1szB141x2I3B2P3iGi2Ruf0CZAyR1NvRxSrSBVmSFeih9xbB9/Xx2YTiGWOxmsLCQ7IRtHGRpSFhxqFSRpGCCDHByUJiR3Nx2iSReuXCNEbCBGeRw5iB5GnR5TsB1hvh1tyR580x2L2h2V3h+q1RmjzCBSxR1OvB5ZqhyClSF2hB2KciWPYR6rSxm6NylCKR9TIBhlGhxmGRyFCx2BGB6OJRuYMhS0PyVKSx1bWiBJah5oeCQ8hyZHniVYsCVmvSVyyiWD0yaS2iSb3R2o1i1CzShGxiJpuydhqid3lCWOhiSVdCGnXxqoRShGMyVaKSRnISRxGCR2ECOJFSKiHCGjJCxBLCNONyBURx1pXCNybymJey5Ciy5NoC9dsi1swC55zS6K1S2a2yyj2zE02CxS0ixeyytxvy5xrC2ImC6SiyuoczE/Yy1NTS9TOi5wLzBzJCyPGS2dETGeFC84GCxPGy1TJS5pNTJ5STCOXi+PcSytekA0ijxWnj1QtUB1vT6BwzyB1UGf3Dy43TxB2j5U0j5iwzt5uT+KrUKUmTaqiT1Haz5SYT1ZTTpyNz50Jz+ZHkGfGTS3FkQ6Fz1UFjtoHDx1JkCKNkCXRzKnXEA1cDtLek5BjU9QoE1XtE9tv0uWyU2W2VKf2kmm3UxZ2U5j0VBmxk58uk+TrVCgmUmgiE9GcU9fY1BjTE5/OlCJLk+SJEmhGFFYD09PEU9mGlB+JFOBLUyeOkipSldGXU9gb09nemNDjmdYoGRcsGRov2SDzmeS2WSq12dP22hJ2Ghc0GZ9xmWIu2WSrF+xl21DhmZPc2NtYWWCSmSdOmKfLm85JGRWF2FsDmhmEGeDGWSdIV2lKGk+NWVPSGNsXGN/bGSTeHo5jH1Un3tjr3d2v3uGznup13Wm13xD2Xpe1Xp1z3uIyHqQvHKxqYNClHtchnd0bH1rYHqTS3ekN4NDKHhTH3dhGH1vFX+PFn6XHHinH39aJ31aOH1oTX57YXepcX2XeI89jJNNoJFmr5Bzv5SEzZCg1Jk925FI25BW2ZB/1JOPzI2evZg9qpFOlo9hipFwa5GcYY6hT5o9N5FJJ5BYIJF/HpOKGIqsEpI7FZBPGpFZJo6DOJCUSYiXW5M4bZFHeaU0iaZMoKVrrqSBwKiOyp+yz6k+3KFl26B22qaB1KiLy56hvqdJrKFfmKZpiaWObqubY6CjTqVUOKJXK6Z4JKmWGqOTEaVDF6NcG6VpJKl8LKmZOKSnR6tIXaJfdaZuebY1irZXoLhsrLV8vr2FzLemzrhL3bhN3bR+2biP0LmNxr5PvLZYrrVlmrp3hrifcbGwYL1TSbRuObhxLbqFIbWVFr1JELlEE7ZzG7p6IraSKa+wM7xSQ7VgW7R6crqKe8JAjcZVoMZvrcR0wMaizsW20cdO3cJn3cd02MWazcKkw8pGvMBrr8KAmMiKg8eeccZEXMRTRsdrOseSL76iIMRLFsRVFMd2DseEGsWZJMCrLcpZOcZoS8R9XcaObMS2";

function b64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function compare(actual: Uint8Array, expected: Uint8Array, what: string, meanTol = 0.5): void {
  assert.equal(actual.length, expected.length, what);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    max = Math.max(max, d);
    sum += d;
  }
  assert.ok(max <= 3, `${what}: max abs diff ${max}`);
  assert.ok(sum / actual.length <= meanTol, `${what}: mean abs diff ${sum / actual.length}`);
}

Deno.test("parseJpeg() decodes a progressive grey JPEG like libjpeg", () => {
  const image = parseJpeg(b64(PROGRESSIVE_GREY_JPEG), "prog_grey.jpg");
  assert.deepEqual([image.width, image.height, image.channels], [48, 40, 1]);
  assert.equal(image.interlaced, true);
  compare(image.data as Uint8Array, b64(PROGRESSIVE_GREY_PIXELS), "grey");
});

Deno.test("parseJpeg() decodes a progressive RGB JPEG like libjpeg", () => {
  const image = parseJpeg(b64(PROGRESSIVE_RGB_JPEG), "prog_rgb.jpg");
  assert.deepEqual([image.width, image.height, image.channels], [32, 24, 3]);
  // jpeg-js converts YCbCr to RGB in floating point, libjpeg with fixed-point
  // tables: one grey level apart on about half the samples (measured 0.55).
  compare(image.data as Uint8Array, b64(PROGRESSIVE_RGB_PIXELS), "rgb", 0.75);
});

Deno.test("readJpeg() reads the CheXpert-style baseline grey fixture within libjpeg tolerance", async () => {
  const image = await readJpeg(fixture("raster/view1_frontal.jpg"));
  assert.deepEqual([image.height, image.width, image.channels], [320, 272, 1]);
  assert.equal(image.interlaced, false);
  for (const [r, c, v] of [[160, 136, 191], [0, 0, 11], [146, 203, 56], [204, 75, 83]]) {
    assert.ok(Math.abs(image.data[r * 272 + c] - v) <= 3, `[${r}, ${c}]`);
  }
  let sum = 0;
  for (const v of image.data) sum += v;
  assert.ok(Math.abs(sum / image.data.length - 96.4285960478) <= 0.5);
});

Deno.test("readImage() decodes a baseline RGB JPEG written by jpeg-js", async () => {
  const rgba = new Uint8Array(16 * 8 * 4);
  for (let i = 0; i < 16 * 8; i++) rgba.set([200, 40, 90, 255], i * 4);
  const encoded = jpegJs.encode({ data: rgba, width: 16, height: 8 }, 95).data;
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/flat.jpg`, encoded);
    const image = await readImage(`${dir}/flat.jpg`);
    assert.equal(image.channels, 3);
    for (let i = 0; i < 16 * 8; i++) {
      assert.ok(
        Math.abs(image.data[i * 3] - 200) <= 2 && Math.abs(image.data[i * 3 + 1] - 40) <= 2,
      );
    }
  });
});

// ------------------------------------------------------------ bad input --

const CXR = fixture("raster/view1_frontal.jpg");

function sofOffset(bytes: Uint8Array): number {
  for (let i = 2; i < bytes.length;) {
    const marker = bytes[i + 1];
    if (marker >= 0xc0 && marker <= 0xc3) return i;
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  throw new Error("no SOF");
}

Deno.test("readJpeg() rejects a wrong magic with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(CXR);
    bytes[1] = 0xd9;
    const path = `${dir}/magic.jpg`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(
      () => readJpeg(path),
      path,
      /must start with the JPEG SOI marker ff d8/,
    );
  });
});

Deno.test("readJpeg() rejects a truncated file instead of decoding part of it", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(CXR);
    for (const cut of [bytes.length - 2, bytes.length >> 1, 100]) {
      const path = `${dir}/cut${cut}.jpg`;
      await Deno.writeFile(path, bytes.slice(0, cut));
      await assertFormatError(
        () => readJpeg(path),
        path,
        /truncated|runs past the end|no scan|no frame/,
      );
    }
  });
});

Deno.test("readJpeg() rejects unsupported compressions (12-bit, lossless) with FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(CXR);
    const sof = sofOffset(bytes);
    const twelve = bytes.slice();
    twelve[sof + 4] = 12;
    const p12 = `${dir}/twelve.jpg`;
    await Deno.writeFile(p12, twelve);
    await assertFormatError(
      () => readJpeg(p12),
      p12,
      /only 8-bit JPEG is supported: current precision is 12/,
    );
    const lossless = bytes.slice();
    lossless[sof + 1] = 0xc3;
    const pl = `${dir}/lossless.jpg`;
    await Deno.writeFile(pl, lossless);
    await assertFormatError(() => readJpeg(pl), pl, /lossless \(SOF3\) is not supported/);
  });
});

Deno.test("readJpeg() turns a corrupt entropy-coded segment into FormatError", async () => {
  await withTempDir(async (dir) => {
    const bytes = await readFileBytes(CXR);
    // overwrite the middle of the scan data with an unknown marker
    const mid = bytes.length >> 1;
    bytes.set([0xff, 0xc8, 0x00, 0x00, 0xff, 0xc8], mid);
    const path = `${dir}/corrupt.jpg`;
    await Deno.writeFile(path, bytes);
    await assertFormatError(() => readJpeg(path), path, /Cannot decode JPEG/);
  });
});
