// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// Devnet stand-in for the grid's credit token: a plain 18-decimal ERC-20 the
/// deployer can mint, so tests and the devnet can fund customer accounts.
contract Credit is ERC20, Ownable {
  constructor() ERC20("Credit", "CREDIT") Ownable(msg.sender) {}

  function mint(address to, uint256 amount) external onlyOwner {
    _mint(to, amount);
  }
}
