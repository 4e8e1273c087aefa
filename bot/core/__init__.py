"""Domain values and the primitives every concept uses: models, errors, the clock, codes and links, validation of
what people type, the unit of work, the texts people read, and the engine's lifecycle."""
