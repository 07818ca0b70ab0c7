# Writes the RDS model JSON into a C++ source file as one string (split in chunks: some
# compilers limit a single literal's length).
file(READ ${IN} CONTENT)
string(LENGTH "${CONTENT}" LEN)
set(OUTTEXT "// Generated from api/generated/rds_model.json at build time.\nextern \"C\" const char kRdsModelJson[] =\n")
set(POS 0)
while(POS LESS LEN)
  string(SUBSTRING "${CONTENT}" ${POS} 8000 CHUNK)
  string(APPEND OUTTEXT "R\"json(${CHUNK})json\"\n")
  math(EXPR POS "${POS} + 8000")
endwhile()
string(APPEND OUTTEXT ";\n")
file(WRITE ${OUT} "${OUTTEXT}")
