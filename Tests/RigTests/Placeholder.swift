import Testing
@Test func placeholderRigTests() { #expect(Bool(true)) }
