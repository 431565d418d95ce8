/**
 * Class names as datasets spell them, mapped onto one canonical spelling so that a dataset's
 * classes match the model's labels (read from the contract) whatever the spelling on either side.
 */

/** Canonical name → the spellings that mean it (lower case, without separators). */
const SYNONYMS: Record<string, string[]> = {
  // emotion (FER+ and FER2013 names, and common folder names)
  neutral: ['neutral', 'neutrality'],
  happy: ['happy', 'happiness', 'joy', 'joyful', 'smile', 'smiling'],
  surprise: ['surprise', 'surprised', 'suprise'],
  sad: ['sad', 'sadness'],
  angry: ['angry', 'anger', 'mad'],
  disgust: ['disgust', 'disgusted'],
  fear: ['fear', 'fearful', 'afraid', 'scared'],
  contempt: ['contempt', 'contemptuous'],
  // gender
  male: ['male', 'males', 'man', 'men', 'm', 'boy', 'boys'],
  female: ['female', 'females', 'woman', 'women', 'f', 'girl', 'girls'],
  // ethnicity (UTKFace's race field names)
  white: ['white', 'caucasian'],
  black: ['black', 'african'],
  asian: ['asian', 'eastasian'],
  indian: ['indian', 'southasian'],
  other: ['other', 'others'],
};

const CANONICAL = new Map<string, string>();
for (const [canonical, spellings] of Object.entries(SYNONYMS)) {
  for (const spelling of spellings) CANONICAL.set(spelling, canonical);
}

/** The canonical name of a class; an unknown name is returned lower-cased and trimmed. */
export function canonicalClass(name: string): string {
  const key = name.toLowerCase().replace(/[\s_\-.]+/g, '');
  return CANONICAL.get(key) ?? name.trim().toLowerCase();
}

/**
 * A function giving, for a dataset's class name, the model label it means, or the dataset's own
 * (canonical) name when the model has no such class.
 */
export function classMatcher(modelLabels: readonly string[]): (name: string) => string {
  const byCanonical = new Map(modelLabels.map((label) => [canonicalClass(label), label]));
  return (name) => byCanonical.get(canonicalClass(name)) ?? canonicalClass(name);
}
