// Job specs typed or uploaded as YAML or JSON -> the JSON object the API takes.
// YAML is parsed by js-yaml (window.jsyaml, vendored from npm with its licence).

/** Parse ``text`` (YAML or JSON) into a job-spec object; throws Error with a readable message. */
export function parseSpec(text) {
  const src = (text || "").trim();
  if (!src) throw new Error("the job spec is empty: paste YAML or JSON, or choose a file");
  let obj;
  if (src.startsWith("{")) {
    try { obj = JSON.parse(src); } catch (e) { throw new Error(`not valid JSON: ${e.message}`); }
  } else {
    if (!window.jsyaml) throw new Error("the YAML parser did not load; paste JSON instead");
    try { obj = window.jsyaml.load(src); } catch (e) {
      throw new Error(`not valid YAML: ${e.reason || e.message}` +
        (e.mark ? ` (line ${e.mark.line + 1})` : ""));
    }
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
    throw new Error("a job spec is a mapping with at least 'kind' and 'name'");
  }
  return obj;
}

/** Wire a file <input> so that choosing a file loads its text into ``textarea``. */
export function loadFileInto(input, textarea) {
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (file) textarea.value = await file.text();
  });
}
