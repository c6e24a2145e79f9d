// The resolve form's photos: each pick (a camera shot, or files from the gallery) adds to the chosen ones,
// up to three, each checked here first (an image, at most 10 MB) so the worker hears at once what is
// wrong; the server checks again from the content. Previews with a button to drop one.

const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const IMAGE_NAME = /\.(jpe?g|png|webp|gif|heic|heif)$/i; // some phones leave the type of a HEIC empty

function problemWith(file) {
  const isImage = file.type ? file.type.startsWith('image/') : IMAGE_NAME.test(file.name);
  if (!isImage) {
    return `“${file.name}”不是图片，请选择照片 (not an image)`;
  }
  if (file.size > MAX_PHOTO_BYTES) {
    return `“${file.name}”超过 10 MB，请重拍或压缩 (over 10 MB)`;
  }
  return null;
}

export class PhotoPicker {
  constructor(input, previews, errorLine, countLine) {
    this.input = input;
    this.previews = previews;
    this.errorLine = errorLine;
    this.countLine = countLine;
    this.files = [];
    input.addEventListener('change', () => this.add(Array.from(input.files || [])));
  }

  add(picked) {
    const problems = [];
    for (const file of picked) {
      const problem = problemWith(file);
      if (problem) {
        problems.push(problem);
      } else if (this.files.length >= MAX_PHOTOS) {
        problems.push(`最多 ${MAX_PHOTOS} 张照片，“${file.name}”未添加 (at most ${MAX_PHOTOS})`);
      } else {
        this.files.push(file);
      }
    }
    this.input.value = ''; // the same photo may be picked again after it was dropped
    this.show();
    this.error(problems.join('；'));
  }

  /** The problem with submitting now, or null. */
  check() {
    if (!this.files.length) {
      return '请至少拍摄或选择 1 张处置后照片 (a photo of the result is required)';
    }
    return null;
  }

  error(text) {
    this.errorLine.textContent = text || '';
  }

  clear() {
    this.files = [];
    this.error('');
    this.show();
  }

  show() {
    for (const image of this.previews.querySelectorAll('img')) {
      URL.revokeObjectURL(image.src);
    }
    const figures = this.files.map((file, index) => {
      const figure = document.createElement('figure');
      const image = document.createElement('img');
      image.src = URL.createObjectURL(file);
      image.alt = file.name;
      const drop = document.createElement('button');
      drop.type = 'button';
      drop.textContent = '×';
      drop.setAttribute('aria-label', `移除 ${file.name}`);
      drop.addEventListener('click', () => {
        this.files.splice(index, 1);
        this.error('');
        this.show();
      });
      figure.append(image, drop);
      return figure;
    });
    this.previews.replaceChildren(...figures);
    this.countLine.textContent = this.files.length ? `已选 ${this.files.length}/${MAX_PHOTOS} 张` : '未选照片';
  }
}
