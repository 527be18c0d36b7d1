import { assertEquals } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import { segwitV0Address } from "../../bench/bech32.ts";
import { fromHex } from "../../lib/bitcoin/mod.ts";

requires({
  name: "bench bech32: BIP 173 P2WPKH vector",
  permissions: [],
  fn() {
    assertEquals(
      segwitV0Address("bc", fromHex("751e76e8199196d454941c45d1b3a323f1433bd6")),
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    );
    assertEquals(
      segwitV0Address(
        "tb",
        fromHex("1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
      ),
      "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    );
  },
});
