import type { CodegenConfig } from "@graphql-codegen/cli";

// Types and typed documents for every operation in operations/ (the server's
// trusted documents), from the committed schema: no server needed to build.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", Upload: "File" },
      },
    },
  },
};

export default config;
